"""The part of docker/stack-test.sh after the images are built: start the stack, drive it over HTTP as a user
would, inflict the faults, time the same jobs on the embedded mode, print the summary.

    python docker/stacktest/drive.py --compose-file STACK.yml --project NAME --gateway-url URL \
        [--ca-file CA.pem] --api-key KEY --work DIR --builds BUILDS.tsv

URL is the stack's front (stack-test.sh: the nginx proxy over HTTPS, verified against CA.pem).

BUILDS.tsv: one `image<TAB>build seconds<TAB>steps from the cache/steps` line per image.
Exit 0 when every check passed; 1 with the reason and the services' last log lines when one failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

import slow_clients
from api import Api
from embedded import embedded_service
from faults import down_and_up, kill_n2v_worker_mid_training, restart_redis_with_jobs_queued
from jobs import run_user_jobs
from stack import Stack
from summary import Summary
from volumes import input_psnr, make_inputs


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line above."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compose-file", type=Path, required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument("--ca-file", type=Path, help="verify an https front against this CA")
    parser.add_argument("--slow-clients", type=int, default=2000)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--work", type=Path, required=True, help="inputs, logs and the embedded data go here")
    parser.add_argument("--builds", type=Path, required=True)
    parser.add_argument("--docker", default="docker")
    parser.add_argument("--compose", default="docker-compose")
    return parser.parse_args(argv)


def image_sizes(stack: Stack, builds: Path, summary: Summary) -> None:
    """Size and build seconds of every image named in `builds`."""
    for line in builds.read_text().splitlines():
        image, seconds, cached = line.split("\t")
        size = int(stack.docker_run("image", "inspect", "--format", "{{.Size}}", image).strip())
        summary.images[image] = (size / 1e6, float(seconds), "-" if cached == "0/0" else cached)


def drive(args: argparse.Namespace, stack: Stack, summary: Summary) -> None:
    """Everything after the build, in the order a deployment meets it; each step passed lands in summary."""
    inputs = make_inputs(args.work / "inputs")
    noisy_psnr = input_psnr(inputs)
    image_sizes(stack, args.builds, summary)

    summary.healthy_s["docker-compose up"] = stack.up()
    summary.passed.append("every service healthy")
    api = Api(args.gateway_url, args.api_key, args.ca_file)
    outcome = run_user_jobs(api, inputs, noisy_psnr)
    summary.stack_s = outcome.seconds
    summary.passed.append("user jobs on the stack")

    ca_file = str(args.ca_file) if args.ca_file else None
    figures = slow_clients.run(args.gateway_url, ca_file, connections=args.slow_clients, seconds=30)
    summary.slow_clients = figures.lines(args.slow_clients, 30)
    if not figures.ok:
        raise AssertionError("/health under slow clients: " + " | ".join(summary.slow_clients))
    summary.passed.append(f"/health within 1 s under {args.slow_clients} slow clients")

    summary.faults.append(kill_n2v_worker_mid_training(api, stack, inputs))
    summary.passed.append("N2V worker killed")
    summary.faults.append(restart_redis_with_jobs_queued(api, stack, inputs, outcome.model_id))
    summary.passed.append("Redis restarted")
    kept, summary.healthy_s["docker-compose up after down"] = down_and_up(
        api, stack, outcome.finished_jobs, outcome.model_id
    )
    summary.faults.append(kept)
    summary.passed.append("down and up")
    # The stack's containers go before the embedded run, so both modes had the machine to themselves.
    stack.compose_run("down", "--volumes")

    with embedded_service(args.work / "embedded-data", args.api_key, args.work / "embedded.log") as url:
        summary.embedded_s = run_user_jobs(Api(url, args.api_key), inputs, noisy_psnr).seconds
    summary.passed.append("user jobs on the embedded mode")


def main(argv: list[str]) -> int:
    """Run the drive; print the summary (also written to WORK/summary.json); exit 1 on the first failure."""
    args = parse_args(argv)
    stack = Stack(args.compose_file, args.project, docker=args.docker, compose=args.compose)
    summary = Summary()
    try:
        drive(args, stack, summary)
    except Exception:
        traceback.print_exc()
        print("--- last log lines of each service ---", file=sys.stderr)
        print(stack.logs(), file=sys.stderr)
        print(f"stack test FAILED after: {', '.join(summary.passed) or 'nothing'}", file=sys.stderr)
        print(f"stack-test: {len(summary.passed)} passed, 1 failed")
        return 1
    (args.work / "summary.json").write_text(json.dumps(summary.__dict__, indent=2))
    print("\n".join(summary.lines()))
    print(f"stack-test: {len(summary.passed)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
