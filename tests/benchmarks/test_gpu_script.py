"""benchmarks/gpu/run.sh: the GPU figures' script, run here in its dry mode (each step's smallest budget)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from benchmarks.gpu.run import plan, pretrain_rate
from shared.models.builtin import PRIOR_DIR

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu" / "run.sh"
STEPS = ["gpu-tests", "speed", "prior-rows", "pretrain"]


def test_the_real_run_points_every_output_into_the_folder_it_is_given(tmp_path: Path) -> None:
    """The full run's commands: the gpu tests, --speed, the prior's rows at sigma 20 with a 200-step fit, two
    epochs of 300 pretraining steps on 16 threads, every file under OUT_DIR, under 10 minutes in all."""
    steps = {step.name: step for step in plan(tmp_path, dry=False, python="python")}
    assert list(steps) == STEPS
    assert steps["gpu-tests"].command[:5] == ["python", "-m", "pytest", "-m", "gpu"]
    assert "tests/services/n2n/test_cuda.py" in steps["gpu-tests"].command
    assert steps["speed"].command[3:] == [
        "benchmark",
        "--speed",
        "--out-dir",
        str(tmp_path),
        "--name",
        "speed-gpu",
    ]
    prior = steps["prior-rows"].command[3:]
    assert prior[:4] == ["benchmark", "--prior", "--sigmas", "20"]
    assert {"--no-ablations", "200"} <= set(prior) and prior[-2:] == ["--out-dir", str(tmp_path)]
    assert steps["pretrain"].command[3:] == [
        "pretrain", "--out", str(tmp_path / "prior"), "--epochs", "2", "--steps-per-epoch", "300", "--threads", "16",
    ]  # fmt: skip
    assert sum(step.budget_s for step in steps.values()) <= 540


def test_a_pretraining_cut_short_still_gives_its_steps_per_second(tmp_path: Path) -> None:
    """Killed at its limit before the manifest, the pretraining's rate comes from the last epoch it logged."""
    assert pretrain_rate(tmp_path, 300) is None
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "pretrain.log").write_text(
        "126 training and 6 validation heads ready in 40 s\n"
        "epoch 1/2 loss 0.01 val PSNR dB sigma 5: 40.00, sigma 20: 30.00 (60 s)\n"
    )
    rate = pretrain_rate(tmp_path, 300)
    assert rate is not None
    assert (rate["steps"], rate["seconds"], rate["steps_per_s"]) == (300, 60.0, 5.0)


@pytest.mark.slow
def test_dry_run_runs_every_step_on_the_cpu_and_records_it(tmp_path: Path) -> None:
    """`run.sh OUT --dry` prints the commands, runs each step with its smallest budget, and writes run.json with
    each step's wall time and exit code; a failing step does not stop the others (minutes on a busy CPU)."""
    out = tmp_path / "gpu-out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [str(SCRIPT), str(out), "--dry"], env=env, capture_output=True, text=True, timeout=2700, check=False
    )
    for name in STEPS:
        assert f"[{name}] " in done.stdout
    run = json.loads((out / "run.json").read_text())
    assert run["dry"] is True
    assert run["machine"]["torch_sees_cuda"] is False  # CUDA hidden: the CPU, even on a GPU machine
    steps = {step["name"]: step for step in run["steps"]}
    assert list(steps) == STEPS
    for step in steps.values():
        assert step["seconds"] > 0 and not step["timed_out"], step
        assert (out / step["log"]).is_file()
    assert (out / "curve-sigma20.json").is_file()
    assert steps["gpu-tests"]["exit_code"] == 0 and steps["gpu-tests"]["outputs"] == {"gpu-tests.xml": True}
    assert steps["speed"]["exit_code"] == 0 and "only its command line" in steps["speed"]["note"]
    assert steps["pretrain"]["exit_code"] == 0
    rate = steps["pretrain"]["rate"]
    assert rate["steps"] == 1 and rate["steps_per_s"] > 0
    if (PRIOR_DIR / "manifest.json").is_file():
        assert steps["prior-rows"]["exit_code"] == 0
        assert json.loads((out / "prior-sigma20.json").read_text())["sigma"] == 20
    else:  # no shipped prior in this tree yet: that step fails, and the steps after it still ran
        assert steps["prior-rows"]["exit_code"] != 0
    assert done.returncode == (0 if all(s["exit_code"] == 0 for s in steps.values()) else 1)
