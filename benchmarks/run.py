"""`fetal-denoise benchmark`: the paper's Tables I and II on the MNI152 template, with baselines and N2C.

The classical baselines are BM3D per slice, BM4D on the volume (true and estimated sigma) and DIPY's
non-local means in 3D (its blockwise default and its classic algorithm). `--methods` picks rows, e.g.
`--methods noisy,bm3d,bm3d_est,bm4d,bm4d_est,nlmeans,nlmeans_classic` for the classical rows alone. The BM3D
and BM4D rows need the opt-in `classical` extra (`pip install "fetal-denoise[classical]"` or
`./setup.sh --classical`; their licence allows non-commercial use only); without it they say 'not installed'.

Usage: `fetal-denoise benchmark [--tiny|--quick|--curve|--paper|--speed|--real-pair] [--name NAME]`. Writes
`<out_dir>/<name>.json` (every figure, split, seeds, versions, machine), `<name>.md` and `<name>.png`.
`--real-pair` runs the rows on a real repeated acquisition instead (benchmarks/real_pair.py), with the
quick budget's fit settings and any `--set`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast, get_args

import numpy as np
from pydantic import ValidationError

from benchmarks import learned
from benchmarks.baselines import NOT_INSTALLED, NOT_RUN, Prediction, classical_rows
from benchmarks.budget import Budget, BudgetName, get_budget
from benchmarks.curve_figure import save_curve_figure
from benchmarks.data import (
    TEST_NOISE_SCOPE,
    TEST_NOISE_SEED,
    BenchmarkData,
    NoisyCopies,
    draw_noisy_copies,
    load_mni,
    prepare,
)
from benchmarks.environment import machine, versions
from benchmarks.estimates import UNIT
from benchmarks.figure import Panel, save_figure
from benchmarks.fits import FIT_KEYS, run_fit
from benchmarks.noise_level import ESTIMATOR
from benchmarks.real_pair import REAL_KEYS, RealKey, run_real_pair
from benchmarks.results import BenchmarkResult, MethodKey, Row, SigmaResult
from benchmarks.scoring import DATA_RANGE, check_fit_targets, check_targets, missing, score
from benchmarks.speed import run_speed
from benchmarks.table import to_markdown
from shared.atomic import atomic_write_text
from shared.noise import add_noise
from shared.quality.noise_level import estimate_noise_level

TRAIN_SEED = 0
"""Seed of every learned method's training noise, patch sampling and initialisation."""
ROW_ORDER: tuple[MethodKey, ...] = get_args(MethodKey)
"""Every row, in table order: the order of the results schema's method keys."""

PROTOCOL: dict[str, str] = {
    "normalisation": "the template is min-max normalised to [0, 1] once; noise is added after, never clipped",
    "noise": "Additive Gaussian noise; sigma is on the 0-255 scale of the [0, 1] range (sigma=20 means "
    "a standard deviation of 20/255); fixed seeds.",
    "metrics": "PSNR = 10 log10(1.0^2 / MSE) dB and RMSE = sqrt(MSE) on the [0, 1] scale (data range 1.0); "
    "SSIM: scikit-image, 7-pixel window, data range 1.0.",
    "aggregation": "Each figure is the mean of per-slice 2D values over the test slices.",
    "test_noise": f"The two noisy test copies at sigma s are drawn from seed {TEST_NOISE_SEED} + s over the "
    "whole normalised volume (first copy, then second, from one generator). Results files written before "
    "this entry drew them over the stacked test slices only: same statistics, other realisations.",
    "inputs": "Every method denoises the same first noisy copy: 2D methods (BM3D, N2V, N2N, N2C) its test "
    "slices, 3D methods (BM4D, non-local means) the whole noisy volume; all are scored on the same test "
    "slices. N2N Eq. 3 also sees the second copy and averages its two predictions (it uses more "
    "information).",
    "estimated_sigma": f"Rows with an estimated sigma get it from the first noisy volume: {ESTIMATOR}; "
    "DIPY's non-local means uses DIPY's own estimate_sigma (N=0, Gaussian).",
    "timing": "infer_seconds is the wall-clock time of denoising, noise estimate included, on this "
    "machine: the test slices for 2D methods, the whole volume for 3D ones; per slice divides by the "
    "slices covered.",
    "budget": "Every learned method (N2V, N2N, N2C) gets the same optimiser steps, batch and patch size.",
}

__all__ = ["run_benchmark", "run_speed"]


Outcome = Prediction | str
"""A method's test predictions, or the status / error message that replaces its row."""


def _learned_rows(
    data: BenchmarkData,
    sigma: float,
    noisy: tuple[Any, Any],
    budget: Budget,
    methods: Collection[MethodKey],
    progress: Callable[[str], None],
) -> dict[MethodKey, Outcome]:
    """Train N2V, N2N and N2C at this sigma and predict the test slices; a failure becomes its message."""
    out: dict[MethodKey, Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="fetal-denoise-bench-") as tmp:
        work = Path(tmp)
        plan: list[tuple[MethodKey, Callable[[], dict[MethodKey, Prediction]]]] = [
            ("n2v", lambda: {"n2v": learned.run_n2v(data, sigma, noisy, budget, work / "n2v", TRAIN_SEED)}),
            ("n2n", lambda: learned.run_n2n(data, sigma, noisy, budget, work / "n2n", TRAIN_SEED, "noisy")),
            ("n2c", lambda: learned.run_n2n(data, sigma, noisy, budget, work / "n2c", TRAIN_SEED, "clean")),
        ]
        for key, run in plan:
            if key not in methods:
                continue
            progress(f"sigma={sigma:g}: training {key} ({budget.steps} steps)")
            try:
                out.update(run())
            except Exception as exc:  # a failed method is a row that says so, not a lost run
                progress(f"sigma={sigma:g}: {key} failed: {exc!r}")
                out[key] = f"{type(exc).__name__}: {exc}"
    return out


def _fit_rows(
    data: BenchmarkData,
    noisy: NoisyCopies,
    budget: Budget,
    methods: Collection[MethodKey],
    progress: Callable[[str], None],
) -> tuple[dict[MethodKey, Outcome], dict[str, list[dict[str, float]]]]:
    """The single-scan fits (benchmarks/fits.py) on this sigma's noisy volume, and their curves."""
    out: dict[MethodKey, Outcome] = {}
    curves: dict[str, list[dict[str, float]]] = {}
    for key in FIT_KEYS:
        if key not in methods:
            continue
        progress(f"sigma={noisy.sigma:g}: fitting {key} on the noisy volume")
        with tempfile.TemporaryDirectory(prefix="fetal-denoise-fit-") as tmp:
            try:
                prediction, points = run_fit(key, data, noisy, budget, Path(tmp) / "model")
            except Exception as exc:  # a failed method is a row that says so, not a lost run
                progress(f"sigma={noisy.sigma:g}: {key} failed: {exc!r}")
                out[key] = f"{type(exc).__name__}: {exc}"
                continue
        out[key] = prediction
        if points:
            curves[key] = [{"epoch": p.epoch, "seconds": p.seconds, "psnr": round(p.psnr, 4)} for p in points]
    return out, curves


def _noise_estimates(data: BenchmarkData, noisy: NoisyCopies) -> dict[str, float | None]:
    """The noise sigma estimated from the noisy volume, and from a Rician copy of the same sigma, vs the truth."""
    rician = add_noise(data.volume.data, noisy.sigma, np.random.default_rng(noisy.seed), "rician")
    out: dict[str, float | None] = {"sigma_true_255": noisy.sigma}
    for kind, volume in (("gaussian", noisy.volumes[0]), ("rician", rician)):
        level = estimate_noise_level(volume, UNIT, slice_axis=data.axis)
        out[f"{kind}_estimated_255"] = level.sigma_255
        out[f"{kind}_relative_error"] = (
            None if level.sigma_255 is None else round(level.sigma_255 / noisy.sigma - 1, 4)
        )
    return out


def _status(outcome: str) -> str:
    """The row status of a method that produced no predictions."""
    if outcome == NOT_RUN:
        return NOT_RUN
    return NOT_INSTALLED if outcome.startswith(NOT_INSTALLED) else "failed"


def _note(outcome: str) -> str:
    """What a row without predictions tells its reader: why it failed, or what installs its package."""
    status = _status(outcome)
    if status == NOT_INSTALLED:
        return outcome.removeprefix(f"{NOT_INSTALLED}: ")
    return outcome if status == "failed" else ""


def _sigma_result(
    data: BenchmarkData,
    sigma: float,
    budget: Budget,
    methods: Collection[MethodKey],
    progress: Callable[[str], None],
) -> tuple[SigmaResult, dict[str, Panel]]:
    """Every row at one sigma, and the figure's panels for the chosen slice."""
    noisy = draw_noisy_copies(data, sigma)
    preds: dict[MethodKey, Outcome] = {"noisy": Prediction(images=noisy.test_slices[0])}
    preds.update(classical_rows(data, noisy, methods, progress))
    preds.update(_learned_rows(data, sigma, noisy.test_slices, budget, methods, progress))
    fits, curves = _fit_rows(data, noisy, budget, methods, progress)
    noise_estimates = _noise_estimates(data, noisy)
    preds.update(fits)
    rows: list[Row] = []
    for key in ROW_ORDER:
        pred = preds.get(key, NOT_RUN)
        if isinstance(pred, Prediction):
            rows.append(score(key, data.test, pred))
        else:
            status = _status(pred)
            rows.append(missing(key, status, _note(pred), len(data.test)))
    figure_index = len(data.test) // 2
    psnr = {row.method: row.psnr_per_slice[figure_index] for row in rows if row.psnr_per_slice}
    panels = {"clean": Panel(data.test[figure_index])}
    for key, pred in preds.items():
        if isinstance(pred, Prediction):
            panels[key] = Panel(pred.images[figure_index], psnr.get(key))
        else:
            panels[key] = Panel(None, missing=_status(pred))
    result = SigmaResult(
        sigma=sigma,
        test_noise_seed=noisy.seed,
        test_noise_scope=TEST_NOISE_SCOPE,
        train_seed=TRAIN_SEED,
        rows=rows,
        curves=curves,
        noise_estimates=noise_estimates,
        targets={**check_targets(rows), **check_fit_targets(sigma, rows, curves)},
    )
    return result, panels


def run_benchmark(
    budget: BudgetName | Budget,
    name: str,
    out_dir: Path = Path("benchmarks/results"),
    sigmas: Sequence[float] = (5, 20),
    progress: Callable[[str], None] = print,
    *,
    command: str | None = None,
    methods: Collection[MethodKey] = ROW_ORDER,
) -> Path:
    """Run every row at every sigma on the `budget` preset; write <name>.json/.md/.png; return the JSON path.

    `methods` leaves rows out (they say 'not run'), e.g. where TensorFlow or bm3d cannot be installed.
    """
    start = time.perf_counter()
    preset = budget if isinstance(budget, Budget) else get_budget(budget)
    data = prepare(load_mni(preset.downsample), preset.max_test_slices)
    progress(f"data: {data.describe()}")
    results: list[SigmaResult] = []
    figure_rows: dict[float, dict[str, Panel]] = {}
    out_dir = Path(out_dir)
    json_path = out_dir / f"{name}.json"
    for sigma in sigmas:
        result, panels = _sigma_result(data, float(sigma), preset, methods, progress)
        results.append(result)
        figure_rows[float(sigma)] = panels
        for row in result.rows:
            progress(f"sigma={sigma:g} {row.label}: {row.status} PSNR {row.psnr} SSIM {row.ssim}")
        # Written after every sigma, so a long run shows its finished noise levels early.
        _write(out_dir, name, preset, data, results, figure_rows, command, time.perf_counter() - start)
    progress(f"wrote {json_path}, {name}.md and {name}.png in {(time.perf_counter() - start) / 60:.1f} min")
    return json_path


def _write(
    out_dir: Path,
    name: str,
    budget: Budget,
    data: BenchmarkData,
    results: list[SigmaResult],
    figure_rows: dict[float, dict[str, Panel]],
    command: str | None,
    seconds: float,
) -> None:
    """Write <name>.json, .md and .png for the sigmas done so far, in ascending sigma order."""
    figure = save_figure(dict(sorted(figure_rows.items())), out_dir / f"{name}.png")
    benchmark = BenchmarkResult(
        name=name,
        created=datetime.now(UTC),
        command=command or shlex.join([Path(sys.executable).name, *sys.argv]),
        budget=budget,
        protocol={**PROTOCOL, "data_range": str(DATA_RANGE)},
        data=data.describe(),
        split=data.split,
        sigmas=sorted(results, key=lambda r: r.sigma),
        figure_slice=len(data.test) // 2,
        versions=versions(),
        machine=machine(),
        total_seconds=round(seconds, 1),
    )
    save_curve_figure(benchmark, out_dir / f"{name}-curve.png")
    atomic_write_text(out_dir / f"{name}.json", benchmark.model_dump_json(indent=1))
    atomic_write_text(out_dir / f"{name}.md", to_markdown(benchmark, figure.name))


def _overrides(parser: argparse.ArgumentParser, pairs: Sequence[str]) -> dict[str, Any]:
    """The budget fields named by --set FIELD=VALUE (values are validated with the Budget).

    A value that starts with `{` is a JSON object (the fit rows' config fields, e.g.
    `--set 'n2n_fit_params={"context": 2}'`), merged over the preset's.
    """
    fields = sorted(set(Budget.model_fields) - {"name"})
    overrides: dict[str, Any] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or field not in fields:
            parser.error(f"--set wants FIELD=VALUE with FIELD one of {', '.join(fields)}; got {pair!r}")
        if value.lstrip().startswith("{"):
            try:
                overrides[field] = json.loads(value)
            except json.JSONDecodeError as exc:
                parser.error(f"--set {field}: not a JSON object ({exc.msg})")
        else:
            overrides[field] = value
    return overrides


def main(argv: Sequence[str] | None = None, prog: str = "python -m benchmarks.run") -> int:
    """Command-line entry point: `fetal-denoise benchmark --quick` (or `python -m benchmarks.run --quick`)."""
    if argv is not None and "--prior" in argv:  # the shipped prior's rows have options of their own
        from benchmarks.prior import main as run_prior

        return run_prior([arg for arg in argv if arg != "--prior"], prog=f"{prog} --prior")
    if argv is not None and "--noise-estimates" in argv:  # no methods run: the estimator against the truth
        from benchmarks.noise_estimates import main as run_noise_estimates

        rest = [arg for arg in argv if arg != "--noise-estimates"]
        return run_noise_estimates(rest, prog=f"{prog} --noise-estimates")
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    for flag in ("tiny", "quick", "curve", "paper", "speed"):
        mode.add_argument(f"--{flag}", action="store_true", help=f"the {flag} budget")
    mode.add_argument(
        "--real-pair",
        action="store_true",
        help="the fits and classical rows on heudiconv's real repeated b~5 DWI pair, by the pair estimate",
    )
    parser.add_argument(
        "--series",
        default="heudiconv-dwi",
        choices=["heudiconv-dwi", "nibabel-epi"],
        help="--real-pair: which real repeated acquisition (default heudiconv-dwi)",
    )
    parser.add_argument("--name", default=None, help="output name (default: the budget's name)")
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the budget's epochs (a custom budget)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one field of the budget (a custom budget), e.g. n2v_batch_norm=true; repeatable",
    )
    parser.add_argument("--sigmas", default="5,20", help="comma-separated sigmas on the 0-255 scale")
    parser.add_argument(
        "--methods",
        default=None,
        help=f"comma-separated rows to run (default: all of {', '.join(ROW_ORDER)}; with --real-pair all of "
        f"{', '.join(REAL_KEYS)})",
    )
    args = parser.parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.run", *(argv if argv is not None else sys.argv[1:])])
    if args.speed:
        run_speed(out_path=args.out_dir / f"{args.name or 'speed'}.json")
        return 0
    name: BudgetName = "tiny" if args.tiny else "paper" if args.paper else "curve" if args.curve else "quick"
    budget = get_budget(name)
    overrides = _overrides(parser, args.set)
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if overrides:
        try:
            merged = budget.model_dump()
            for field, value in overrides.items():
                merged[field] = {**merged[field], **value} if isinstance(value, dict) else value
            budget = Budget.model_validate({**merged, "name": "custom"})
        except ValidationError as exc:
            parser.error(f"invalid --set: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
    known: tuple[str, ...] = REAL_KEYS if args.real_pair else ROW_ORDER
    methods = [m for m in (args.methods or ",".join(known)).split(",") if m]
    unknown = sorted(set(methods) - set(known))
    if unknown:
        parser.error(f"unknown methods {', '.join(unknown)}; choose from {', '.join(known)}")
    if args.real_pair:
        real_methods = cast(list[RealKey], methods)
        default_name = "real-pair" if args.series == "heudiconv-dwi" else f"real-pair-{args.series}"
        run_real_pair(
            budget,
            args.name or default_name,
            args.out_dir,
            methods=real_methods,
            command=command,
            series=args.series,
        )
        return 0
    sigmas = [float(s) for s in args.sigmas.split(",") if s]
    run_benchmark(
        budget,
        args.name or name,
        args.out_dir,
        sigmas,
        command=command,
        methods=cast(list[MethodKey], methods),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
