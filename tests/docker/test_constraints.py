"""docker/constraints.txt: the versions every image installs agree with pyproject.toml's pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def canonical(name: str) -> str:
    """A distribution name normalised as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def constraint_pins() -> dict[str, str]:
    """name -> version of every `name==version` line of docker/constraints.txt."""
    lines = (ROOT / "docker" / "constraints.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if line and not line.startswith("#")]
    assert all(len(pin) == 2 for pin in pins), "every constraint is name==version"
    return {canonical(name): version for name, version in pins}


LOCAL_ONLY_EXTRAS = {"bench", "classical", "docs", "pretrain"}
"""Extras no image installs: the benchmark's baselines; bm3d/bm4d (`classical`) have a non-commercial licence;
`docs` builds the documentation site; `pretrain` (TorchIO) makes the prior, which the images only use."""


def pyproject_pins() -> dict[str, str]:
    """name -> version of every exact pin in pyproject.toml's dependencies and the extras images use."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [
        *project["dependencies"],
        *(
            r
            for name, extra in project["optional-dependencies"].items()
            if name not in LOCAL_ONLY_EXTRAS
            for r in extra
        ),
    ]
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^;,\s]+)", requirement.strip())
        if match:
            pins[canonical(match[1])] = match[3]
    return pins


def test_constraints_agree_with_every_pyproject_pin() -> None:
    """No image build fails on a conflict: each exact pin of pyproject.toml has the same constraint."""
    constraints = constraint_pins()
    pins = pyproject_pins()
    assert {"numpy", "torch", "n2v", "celery"} <= set(pins)
    disagreements = {n: (v, constraints.get(n)) for n, v in pins.items() if constraints.get(n) != v}
    assert disagreements == {}


def test_constraints_pin_the_gpu_stack_companions() -> None:
    """The N2V image's tf-keras, and torch without the CPU build's local label, are pinned as tested."""
    constraints = constraint_pins()
    assert constraints["tf-keras"] == "2.21.0"
    assert constraints["torch"] == "2.13.0"
    assert (
        "bm3d" not in constraints and "bm4d" not in constraints
    )  # non-commercial licence: never in an image
