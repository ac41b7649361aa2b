"""docker/gpu-image-check.sh: its plan (--dry, no Docker) and the check it runs inside each image."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docker" / "gpu-image-check.sh"
INSIDE = ROOT / "docker" / "gpucheck" / "inside.py"
TARGETS = ("gateway", "worker-n2n", "worker-n2v", "worker-metrics")


def dry_plan(tag: str) -> list[str]:
    """The lines `gpu-image-check.sh --dry` prints with GPU_TAG=tag."""
    done = subprocess.run(
        ["bash", str(SCRIPT), "--dry"],
        env={"PATH": "/usr/bin:/bin", "GPU_TAG": tag},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def test_dry_mode_builds_the_four_targets_with_the_gpu_defaults() -> None:
    """Each target is built once, tagged as asked, with none of the CPU build arguments of the stack test."""
    builds = [line for line in dry_plan("gpu-x") if line.startswith("build ")]
    assert [line.split()[1] for line in builds] == [f"fetal-denoise/{target}:gpu-x:" for target in TARGETS]
    for line, target in zip(builds, TARGETS, strict=True):
        assert f"--target {target} " in line
        assert "TORCH_WHEEL" not in line and "TENSORFLOW" not in line and "TORCH_INDEX_URL" not in line
        assert "--secret id=pip-cert," in line  # the CA bundle reaches pip as a secret, never as a layer


def test_dry_mode_checks_each_image_and_names_the_results_file() -> None:
    plan = dry_plan("gpu")
    checks = [line for line in plan if line.startswith("check ")]
    assert [line.split()[-1] for line in checks] == list(TARGETS)
    assert plan[-1].endswith("benchmarks/results/gpu-images.json")


def run_inside(target: str) -> tuple[int, dict[str, object]]:
    """inside.py TARGET in this venv (which holds torch and TensorFlow, CPU builds): exit code, its JSON line."""
    done = subprocess.run(
        [sys.executable, str(INSIDE), target],
        env={"PATH": "/usr/bin:/bin", "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def test_inside_check_fails_a_cpu_torch() -> None:
    """This venv's torch is the +cpu build: the worker-n2n image check must refuse it."""
    code, found = run_inside("worker-n2n")
    assert code == 1
    assert found["cuda"] is None and found["ok"] is False


def test_inside_check_fails_a_gateway_image_holding_a_framework() -> None:
    """The gateway never imports torch or TensorFlow; an image that carries them fails its check."""
    code, found = run_inside("gateway")
    assert code == 1
    assert found["frameworks"] == ["torch", "tensorflow"]
