"""The rows that learn nothing: the classical denoisers a user would pick instead of training a network.

Each comes from an optional package, never a service dependency: DIPY from the `bench` extra (in `all`),
bm3d and bm4d from the `classical` extra, installed only on an explicit opt-in for their non-commercial
licence. A row whose package cannot be imported says 'not installed' with the command that installs it; one
left out of `--methods` says 'not run'; one that raises says why, and the run goes on.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from benchmarks.block_matching import CLASSICAL_INSTALL, run_bm3d, run_bm4d
from benchmarks.data import BenchmarkData, NoisyCopies
from benchmarks.dipy_nlmeans import run_nlmeans
from benchmarks.prediction import Prediction
from benchmarks.results import MethodKey

__all__ = [
    "CLASSICAL",
    "NOT_INSTALLED",
    "NOT_RUN",
    "Baseline",
    "Prediction",
    "classical_rows",
    "not_installed",
]

NOT_INSTALLED = "not installed"
NOT_RUN = "not run"


@dataclass(frozen=True)
class Baseline:
    """One classical row: the module it needs and how it denoises the noisy test data."""

    key: MethodKey
    module: str
    """The import that must succeed for the row to run (its package is optional)."""
    run: Callable[[BenchmarkData, NoisyCopies], Prediction]
    install: str
    """What installs the package, told to a user whose run lacks it."""


DIPY_INSTALL = 'pip install "fetal-denoise[bench]" (./setup.sh installs it)'

CLASSICAL: tuple[Baseline, ...] = (
    Baseline("bm3d", "bm3d", lambda data, noisy: run_bm3d(data, noisy, estimate=False), CLASSICAL_INSTALL),
    Baseline("bm3d_est", "bm3d", lambda data, noisy: run_bm3d(data, noisy, estimate=True), CLASSICAL_INSTALL),
    Baseline("bm4d", "bm4d", lambda data, noisy: run_bm4d(data, noisy, estimate=False), CLASSICAL_INSTALL),
    Baseline("bm4d_est", "bm4d", lambda data, noisy: run_bm4d(data, noisy, estimate=True), CLASSICAL_INSTALL),
    Baseline(
        "nlmeans",
        "dipy.denoise.nlmeans",
        lambda data, noisy: run_nlmeans(data, noisy, "blockwise"),
        DIPY_INSTALL,
    ),
    Baseline(
        "nlmeans_classic",
        "dipy.denoise.nlmeans",
        lambda data, noisy: run_nlmeans(data, noisy, "classic"),
        DIPY_INSTALL,
    ),
)


def not_installed(install: str) -> str:
    """The outcome of a row whose package is missing: its status, then what installs the package."""
    return f"{NOT_INSTALLED}: {install}"


def module_available(module: str) -> bool:
    """Whether an optional module can be imported here."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _outcomes(
    data: BenchmarkData,
    noisy: NoisyCopies,
    methods: Collection[MethodKey],
    progress: Callable[[str], None],
) -> Iterator[tuple[MethodKey, Prediction | str]]:
    """Each classical row's prediction, or the status / error message that replaces it."""
    for baseline in CLASSICAL:
        if baseline.key not in methods:
            yield baseline.key, NOT_RUN
            continue
        if not module_available(baseline.module):
            progress(f"sigma={noisy.sigma:g}: {baseline.key} not installed: {baseline.install}")
            yield baseline.key, not_installed(baseline.install)
            continue
        progress(f"sigma={noisy.sigma:g}: {baseline.key}")
        try:
            yield baseline.key, baseline.run(data, noisy)
        except Exception as exc:  # a failed baseline is a row that says so, not a lost run
            progress(f"sigma={noisy.sigma:g}: {baseline.key} failed: {exc!r}")
            yield baseline.key, f"{type(exc).__name__}: {exc}"


def classical_rows(
    data: BenchmarkData,
    noisy: NoisyCopies,
    methods: Collection[MethodKey],
    progress: Callable[[str], None] = print,
) -> dict[MethodKey, Prediction | str]:
    """Run the classical rows asked for on the first noisy copy; a row that cannot run gets its status."""
    return dict(_outcomes(data, noisy, methods, progress))
