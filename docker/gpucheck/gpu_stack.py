"""The part of docker/gpu-image-check.sh after the images are built and checked inside: the stack of GPU images
on a machine with no GPU, over HTTP; then the results file.

    python docker/gpucheck/gpu_stack.py --compose-file STACK.yml --project NAME --gateway-url URL --api-key KEY \
        --work DIR --builds BUILDS.tsv --sizes SIZES.tsv --checks CHECKS.jsonl --results OUT.json

Checks: every service healthy; each GPU worker logs that it sees no GPU and runs its jobs on the CPU, and
/health says `cpu` for its queue; an N2N training and an N2V fit succeed on the CPU (the workers run, never
refuse, without a GPU: shared/worker/device.py). Exit 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stacktest"))

from api import Api
from jobs import N2N_TRAIN, N2V_FIT, check, timed_job
from stack import Stack
from volumes import make_inputs

NO_GPU_LINES = {
    "worker-n2n": "n2n worker: no GPU visible to torch (CUDA build: yes); jobs run on the CPU",
    "worker-n2v": "n2v worker: no GPU visible to TensorFlow (CUDA build: yes); jobs run on the CPU",
}
"""What shared/worker/device.py makes each GPU worker log at start on this machine."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line above."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--project", "--gateway-url", "--api-key"):
        parser.add_argument(name, required=True)
    for name in ("--compose-file", "--work", "--builds", "--sizes", "--checks", "--results"):
        parser.add_argument(name, type=Path, required=True)
    parser.add_argument("--docker", default="docker")
    parser.add_argument("--compose", default="docker-compose")
    return parser.parse_args(argv)


def wait_for_devices(api: Api, timeout_s: float = 300.0) -> dict[str, list[str]]:
    """/health's devices once every GPU queue's worker has finished its check."""
    deadline = time.monotonic() + timeout_s
    while True:
        devices = api.client.get("/health").json()["devices"]
        if all(devices.get(queue) and "checking" not in devices[queue] for queue in ("n2n", "n2v")):
            return devices
        if time.monotonic() > deadline:
            raise AssertionError(f"/health devices after {timeout_s:.0f} s: {devices}")
        time.sleep(2.0)


def drive(args: argparse.Namespace, stack: Stack) -> dict[str, object]:
    """The stack checks; what the results file keeps of them."""
    healthy_s = stack.up()
    api = Api(args.gateway_url, args.api_key)
    devices = wait_for_devices(api)
    check(devices["n2n"] == ["cpu"] and devices["n2v"] == ["cpu"], f"/health devices: {devices}")
    logged = {}
    for service, line in NO_GPU_LINES.items():
        log = stack.compose_run("logs", "--no-color", service)
        check(line in log, f"{service}: its log lacks {line!r}")
        logged[service] = line
    registered = stack.compose_run("exec", "-T", "worker-n2n", "celery", "-A", "services.n2n.tasks", "inspect",
                                   "registered", "--timeout", "10")  # fmt: skip
    check("n2n." in registered, f"worker-n2n registered no n2n task: {registered[-500:]}")
    inputs = make_inputs(args.work / "inputs")
    seconds = {}
    train, seconds["N2N training on a noisy pair, CPU"] = timed_job(
        api, "/train", {"method": "n2n", "params": json.dumps(N2N_TRAIN)},
        [("files", inputs["noisy"]), ("files2", inputs["noisy2"])],
    )  # fmt: skip
    fit, seconds["N2V fit on the upload, CPU"] = timed_job(
        api, "/denoise", {"method": "n2v", "params": json.dumps(N2V_FIT)}, [("file", inputs["noisy"])]
    )
    return {
        "healthy_s": round(healthy_s, 1),
        "health_devices": devices,
        "no_gpu_log_lines": logged,
        "jobs_on_the_cpu_s": {name: round(value, 1) for name, value in seconds.items()},
        "job_workers": {"n2n training": train.get("workers"), "n2v fit": fit.get("workers")},
    }


def results(args: argparse.Namespace, stack_checks: dict[str, object]) -> dict[str, object]:
    """The results file: build seconds and sizes of each image, the in-image checks, the stack checks."""
    builds = {}
    for line in args.builds.read_text().splitlines():
        image, seconds, cached = line.split("\t")
        builds[image] = {"build_s": int(seconds), "steps_from_cache": cached}
    for line in args.sizes.read_text().splitlines():
        image, size = line.split("\t")
        builds.setdefault(image, {})["size_gb"] = round(int(size) / 1e9, 2)
    return {
        "what": "docker/gpu-image-check.sh: the four images with the Dockerfile's GPU defaults, on a machine "
        "with no GPU",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": f"{platform.machine()}, {platform.system()}, no GPU",
        "images": builds,
        "inside": [json.loads(line) for line in args.checks.read_text().splitlines() if line.strip()],
        "stack": stack_checks,
    }


def main(argv: list[str]) -> int:
    """Run the checks, write the results file, print it; exit 1 on the first failure."""
    args = parse_args(argv)
    stack = Stack(args.compose_file, args.project, docker=args.docker, compose=args.compose)
    try:
        stack_checks = drive(args, stack)
    except Exception:
        traceback.print_exc()
        print(stack.logs(), file=sys.stderr)
        print("gpu-image-check: FAILED")
        return 1
    found = results(args, stack_checks)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(found, indent=2) + "\n")
    print(json.dumps(found, indent=2))
    print("gpu-image-check: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
