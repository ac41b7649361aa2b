"""The GPU figures in one run (`benchmarks/gpu/run.sh OUT_DIR [--dry]`), under 10 minutes on a GPU machine.

Steps, each in its own process group with a time limit, each logged to OUT_DIR/logs/<step>.log:
1. gpu-tests: the tests marked `gpu` (they skip without CUDA), JUnit XML in OUT_DIR/gpu-tests.xml;
2. speed: `fetal-denoise benchmark --speed` -> OUT_DIR/speed-gpu.json (N2N on the CPU and CUDA, N2V);
3. prior-rows: `fetal-denoise benchmark --prior` at sigma 20, the shipped prior and a 200-step fit ->
   OUT_DIR/prior-sigma20.json (its BM3D/BM4D rows read from the copy of benchmarks/results/curve-sigma20.json);
4. pretrain: two short epochs of `fetal-denoise pretrain` -> OUT_DIR/prior/, timed for its steps per second.
OUT_DIR/run.json gets each step's command, wall time, exit code and outputs, rewritten after every step, so a
run cut short still says what it did. A failing step does not stop the others.

`--dry` prints the same steps and runs each with its smallest budget on the CPU (CUDA hidden): the tests
skip, the speed benchmark (which has no smaller budget) only parses its command line, the prior's rows run on
a quarter-resolution volume without a fit, and the pretraining runs one step on one head. The tests run it so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[2]
BUDGET_S = 540.0
"""The whole run's limit: under the 10 minutes, with room for the start and the copy back."""
DRY_BUDGET_S = 2400.0
DRY_STEP_S = 600.0
"""A dry run's limits: its steps are tiny, but a busy 2-core CPU can take minutes just to import them."""
PRETRAIN_EPOCHS, PRETRAIN_STEPS = 2, 300
GPU_MARK = "pytest.mark." + "gpu"  # spelled in two so this file never looks like a GPU test to the search


@dataclass(frozen=True)
class Step:
    """One command of the run, its share of the budget, and the files it should leave in OUT_DIR."""

    name: str
    command: list[str]
    budget_s: float
    outputs: list[str] = field(default_factory=list)
    note: str = ""


def gpu_test_files(root: Path = ROOT) -> list[str]:
    """The test files that mark tests `gpu` (so pytest collects only those, not the whole suite)."""
    return sorted(
        str(path.relative_to(root))
        for path in (root / "tests").rglob("test_*.py")
        if GPU_MARK in path.read_text(encoding="utf-8", errors="replace")
    )


def plan(out: Path, dry: bool, python: str = sys.executable) -> list[Step]:
    """The steps of a run writing into `out`; in dry mode each with its smallest budget."""
    cli = [python, "-m", "cli.main"]
    tests = [python, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"]
    tests += ["--junitxml", str(out / "gpu-tests.xml"), *gpu_test_files()]
    if dry:
        speed = [*cli, "benchmark", "--speed", "--help"]
        speed_note = "dry: the speed benchmark has no smaller budget, so only its command line is checked"
        prior = ["--downsample", "4", "--fit-steps", "0"]
        pretrain = ["--epochs", "1", "--steps-per-epoch", "1", "--train-volumes", "1", "--threads", "1"]
    else:
        speed = [*cli, "benchmark", "--speed", "--out-dir", str(out), "--name", "speed-gpu"]
        speed_note = ""
        prior = ["--fit-steps", "200"]
        pretrain = [
            "--epochs",
            str(PRETRAIN_EPOCHS),
            "--steps-per-epoch",
            str(PRETRAIN_STEPS),
            "--threads",
            "16",
        ]
    steps = [
        Step("gpu-tests", tests, 90, ["gpu-tests.xml"]),
        Step("speed", speed, 210, [] if dry else ["speed-gpu.json"], speed_note),
        Step(
            "prior-rows",
            [*cli, "benchmark", "--prior", "--sigmas", "20", *prior, "--no-ablations", "--out-dir", str(out)],
            90,
            ["prior-sigma20.json"],
            "BM3D/BM4D rows from curve-sigma20.json, copied from benchmarks/results",
        ),
        Step(
            "pretrain",
            [*cli, "pretrain", "--out", str(out / "prior"), *pretrain],
            150,
            ["prior/manifest.json"],
            "services/n2n/prior/pretrain.py trains where its tensors are made: on the CPU, GPU or not",
        ),
    ]
    if dry:
        return [Step(s.name, s.command, DRY_STEP_S, s.outputs, s.note) for s in steps]
    return steps


def run_step(step: Step, log: Path, limit_s: float, env: dict[str, str]) -> dict[str, Any]:
    """Run one step in a process group of its own (its children are stopped with it at the limit)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    timed_out = False
    with log.open("w", encoding="utf-8") as sink:
        sink.write(f"$ {shlex.join(step.command)}\n")
        sink.flush()
        try:
            process = subprocess.Popen(
                step.command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        except OSError as exc:
            return {"exit_code": None, "seconds": 0.0, "timed_out": False, "error": str(exc)}
        try:
            code = process.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGTERM)
            try:
                code = process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                code = process.wait()
    return {"exit_code": code, "seconds": round(time.monotonic() - started, 1), "timed_out": timed_out}


def machine(env: dict[str, str], python: str) -> dict[str, Any]:
    """What the steps run on, asked in a child (the runner itself never touches CUDA)."""
    code = (
        "import json, torch; from benchmarks.environment import machine, versions; "
        "print(json.dumps({'machine': machine(), 'versions': versions(), "
        "'torch_cuda_build': torch.version.cuda, 'torch_sees_cuda': torch.cuda.is_available()}))"
    )
    try:
        done = subprocess.run(
            [python, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, IndexError, ValueError) as exc:
        found = {"error": f"could not describe the machine: {type(exc).__name__}"}
    smi = shutil.which("nvidia-smi")
    if smi:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
        found["nvidia_smi"] = listed.stdout.strip() or listed.stderr.strip()
    return found


def pretrain_rate(out: Path, steps_per_epoch: int) -> dict[str, Any] | None:
    """Steps per second of the pretraining (training and validation; the heads' generation not counted): from
    its manifest, else, when it was cut short, from the last epoch its log reports; None before any epoch."""
    try:
        manifest = json.loads((out / "prior" / "manifest.json").read_text(encoding="utf-8"))
        config = manifest["data"]["pretraining"]
        seconds = float(manifest["validation"]["seconds"])
        steps = int(config["epochs"]) * int(config["steps_per_epoch"])
        source = "prior/manifest.json"
    except (OSError, ValueError, KeyError, TypeError):
        log = out / "logs" / "pretrain.log"
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        epochs = re.findall(r"^epoch (\d+)/\d+ .*\((\d+) s\)$", text, flags=re.MULTILINE)
        if not epochs:
            return None
        steps, seconds = int(epochs[-1][0]) * steps_per_epoch, float(epochs[-1][1])
        source = "logs/pretrain.log (whole seconds)"
    return {
        "steps": steps,
        "seconds": seconds,
        "steps_per_s": round(steps / seconds, 2) if seconds > 0 else None,
        "from": source,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the steps, write OUT_DIR/run.json; exit 1 when a step failed (after running all of them)."""
    parser = argparse.ArgumentParser(prog="benchmarks/gpu/run.sh", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="where the results go (created)")
    parser.add_argument("--dry", action="store_true", help="the smallest budget of each step, on the CPU")
    parser.add_argument(
        "--budget-s", type=float, default=None, help="the whole run's limit (default 540; dry 2400)"
    )
    args = parser.parse_args(argv)
    out: Path = args.out_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.dry:
        env["CUDA_VISIBLE_DEVICES"] = ""  # the CPU, even on a GPU machine
    python = sys.executable
    budget = args.budget_s or (DRY_BUDGET_S if args.dry else BUDGET_S)
    deadline = time.monotonic() + budget
    steps = plan(out, args.dry, python)
    for step in steps:
        print(f"[{step.name}] {shlex.join(step.command)}", flush=True)
    document: dict[str, Any] = {
        "dry": args.dry,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "budget_s": budget,
        "machine": machine(env, python),
        "steps": [],
    }
    if not args.dry and not document["machine"].get("torch_sees_cuda"):
        document["warning"] = (
            "torch sees no GPU here: these are CPU figures (a CPU build of torch, or no driver)"
        )
        print(f"WARNING: {document['warning']}", flush=True)
    shutil.copy2(ROOT / "benchmarks" / "results" / "curve-sigma20.json", out / "curve-sigma20.json")
    for step in steps:
        record: dict[str, Any] = {
            "name": step.name,
            "command": shlex.join(step.command),
            "log": f"logs/{step.name}.log",
        }
        if step.note:
            record["note"] = step.note
        left = deadline - time.monotonic()
        if left < 10:
            record |= {
                "exit_code": None,
                "seconds": 0.0,
                "timed_out": False,
                "skipped": "the run's budget is spent",
            }
        else:
            print(f"[{step.name}] running (limit {min(step.budget_s, left):.0f} s)", flush=True)
            record |= run_step(step, out / "logs" / f"{step.name}.log", min(step.budget_s, left), env)
        record["outputs"] = {name: (out / name).is_file() for name in step.outputs}
        if step.name == "pretrain":
            record["rate"] = pretrain_rate(out, 1 if args.dry else PRETRAIN_STEPS)
        document["steps"].append(record)
        document["total_seconds"] = round(sum(s["seconds"] for s in document["steps"]), 1)
        atomic_write_text(out / "run.json", json.dumps(document, indent=1) + "\n")
        print(
            f"[{step.name}] exit {record['exit_code']} after {record['seconds']} s"
            + (" (timed out)" if record["timed_out"] else ""),
            flush=True,
        )
    print(f"wrote {out / 'run.json'}")
    return 0 if all(s["exit_code"] == 0 for s in document["steps"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
