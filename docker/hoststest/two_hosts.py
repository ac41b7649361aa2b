"""The part of docker/two-host-test.sh after both projects are rendered: two "hosts" on one machine, over HTTP.

    python docker/hoststest/two_hosts.py --main MAIN.yml --main-project A --extra EXTRA.yml --extra-project B \
        --gateway-url URL --api-key KEY --work DIR

1. spread: both hosts up; N2N trainings are shared by host-a's and host-b's workers (GET /jobs/{id} names
   the worker of each step);
2. host lost: a training running on host-b, host-b killed (`docker-compose kill`): the job is handed out
   again and finishes on host-a;
3. host added: with host-b down and host-a's N2N worker stopped, jobs wait in the queue; host-b comes up and
   runs them.
Prints jobs per host and jobs lost (submitted, not succeeded); exit 0 when every check passed and none was lost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stacktest"))

from api import Api
from jobs import N2N_TRAIN, check
from stack import Stack
from volumes import make_inputs

LONG_TRAIN = {**N2N_TRAIN, "epochs": 30, "steps_per_epoch": 10}
"""Long enough on 2 CPU cores to be killed mid-training."""


class Jobs:
    """Every job the test submitted, and where each one ran."""

    def __init__(self, api: Api, inputs: dict[str, Path]) -> None:
        self.api = api
        self.inputs = inputs
        self.submitted: list[str] = []
        self.finished: dict[str, dict[str, Any]] = {}

    def train(self, params: dict[str, Any] = N2N_TRAIN) -> str:
        """POST /train an N2N training on the noisy pair; its job id."""
        files = [("files", self.inputs["noisy"]), ("files2", self.inputs["noisy2"])]
        job_id = self.api.submit("/train", {"method": "n2n", "params": json.dumps(params)}, files)["job_id"]
        self.submitted.append(job_id)
        return job_id

    def wait(self, job_id: str) -> str:
        """Wait for the job to succeed; the worker that ran its training."""
        view = self.api.wait(job_id, timeout_s=900.0)
        check(view["status"] == "succeeded", f"job {job_id}: {view}")
        self.finished[job_id] = view
        return str(view["workers"]["train"])

    def wait_running_on(self, job_id: str, worker: str, timeout_s: float = 600.0) -> dict[str, Any]:
        """Poll until the job trains (an epoch done) on `worker`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            view = self.api.job(job_id)
            if view["workers"].get("train") == worker and (view.get("progress") or {}).get("epoch"):
                return view
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} not training on {worker} after {timeout_s:.0f} s")

    def per_host(self) -> dict[str, int]:
        """Trainings finished per host (the part of the worker name after `@`)."""
        return dict(Counter(str(view["workers"]["train"]).split("@")[1] for view in self.finished.values()))


def drive(args: argparse.Namespace, main: Stack, extra: Stack) -> dict[str, Any]:
    """The three checks; the figures."""
    figures: dict[str, Any] = {"healthy_s": {"host-a": round(main.up(), 1), "host-b": round(extra.up(), 1)}}
    api = Api(args.gateway_url, args.api_key)
    jobs = Jobs(api, make_inputs(args.work / "inputs"))

    spread = [jobs.train() for _ in range(6)]
    ran_on = Counter(jobs.wait(job_id).split("@")[1] for job_id in spread)
    check(set(ran_on) == {"host-a", "host-b"}, f"6 trainings ran on {dict(ran_on)}: not on both hosts")
    figures["spread"] = dict(ran_on)

    # Host-a's N2N worker stopped, so the long training can only start on host-b.
    main.compose_run("stop", "worker-n2n")
    doomed = jobs.train(LONG_TRAIN)
    view = jobs.wait_running_on(doomed, "n2n@host-b")
    start = time.monotonic()
    extra.compose_run("kill")
    main.compose_run("start", "worker-n2n")
    finished_on = jobs.wait(doomed)
    check(finished_on == "n2n@host-a", f"the job of the killed host finished on {finished_on}")
    figures["host_killed"] = {
        "killed_at_epoch": view["progress"]["epoch"],
        "finished_on": finished_on,
        "seconds_from_kill_to_done": round(time.monotonic() - start, 1),
    }

    # Host-b down, host-a's N2N worker stopped: jobs wait in the queue until a host joins.
    main.compose_run("stop", "worker-n2n")
    extra.compose_run("rm", "-f")
    queued = [jobs.train() for _ in range(2)]
    time.sleep(5.0)
    check(all(api.job(job_id)["status"] == "queued" for job_id in queued), "jobs ran with no N2N worker up")
    joined = time.monotonic()
    extra.up()
    took = Counter(jobs.wait(job_id) for job_id in queued)
    check(set(took) == {"n2n@host-b"}, f"the queued jobs ran on {dict(took)}")
    figures["host_added"] = {"queued_jobs": len(queued), "ran_on": dict(took),
                             "seconds_from_join_to_done": round(time.monotonic() - joined, 1)}  # fmt: skip
    main.compose_run("start", "worker-n2n")

    figures["jobs_submitted"] = len(jobs.submitted)
    figures["jobs_per_host"] = jobs.per_host()
    figures["jobs_lost"] = len([job for job in jobs.submitted if job not in jobs.finished])
    check(figures["jobs_lost"] == 0, f"{figures['jobs_lost']} jobs lost")
    return figures


def main(argv: list[str]) -> int:
    """Run it; print the figures; exit 1 on the first failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--main-project", "--extra-project", "--gateway-url", "--api-key", "--docker"):
        parser.add_argument(name, required=name != "--docker", default="docker")
    for name in ("--main", "--extra", "--work"):
        parser.add_argument(name, type=Path, required=True)
    args = parser.parse_args(argv)
    main_stack = Stack(args.main, args.main_project, docker=args.docker)
    extra_stack = Stack(args.extra, args.extra_project, docker=args.docker)
    try:
        figures = drive(args, main_stack, extra_stack)
    except Exception:
        traceback.print_exc()
        print(main_stack.logs(), extra_stack.logs(), sep="\n", file=sys.stderr)
        print("two-host-test: FAILED")
        return 1
    print(json.dumps(figures, indent=2))
    print(
        f"two-host-test: passed; jobs per host {figures['jobs_per_host']}, jobs lost {figures['jobs_lost']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
