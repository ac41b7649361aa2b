"""Faults a deployment meets, each checked for lost work: a worker killed mid-training, Redis restarted with
jobs queued, the whole stack taken down and up again."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from api import Api
from jobs import N2V_FIT, check
from stack import Stack


def kill_n2v_worker_mid_training(api: Api, stack: Stack, inputs: dict[str, Path]) -> str:
    """SIGKILL the N2V worker's container after an epoch, start it again: the job still succeeds."""
    params = {**N2V_FIT, "epochs": 6}
    job_id = api.submit(
        "/denoise", {"method": "n2v", "params": json.dumps(params)}, [("file", inputs["noisy"])]
    )["job_id"]
    view = api.wait_for_epoch(job_id, 1)
    check(view["status"] == "running", f"the N2V job finished before it could be killed: {view}")
    container = stack.container("worker-n2v")
    stack.docker_run("kill", "--signal", "KILL", container)
    killed = time.monotonic()
    api.hiccups.clear()
    stack.docker_run("start", container)
    final = api.wait(job_id)
    check(final["status"] == "succeeded", f"N2V job after the kill: {final}")
    return (
        f"SIGKILL of worker-n2v at epoch {view['progress']['epoch']}/{view['progress']['epochs']}, then "
        f"`docker start`: the job succeeded {time.monotonic() - killed:.0f} s after the kill{hiccups(api)}"
    )


def restart_redis_with_jobs_queued(api: Api, stack: Stack, inputs: dict[str, Path], model_id: str) -> str:
    """`docker restart` Redis while jobs wait in its queues: every one of them succeeds."""
    noisy, clean = inputs["noisy"], inputs["clean"]
    fit = {"method": "n2v", "params": json.dumps(N2V_FIT)}
    requests = [
        ("/denoise", fit, [("file", noisy)]),
        ("/denoise", fit, [("file", noisy)]),  # waits behind the first: one N2V job at a time
        ("/denoise", {"method": "n2n", "model_id": model_id}, [("file", noisy)]),
        ("/metrics", {}, [("prediction", noisy), ("ground_truth", clean)]),
    ]
    job_ids = [api.submit(path, data, files)["job_id"] for path, data, files in requests]
    statuses = [api.job(job_id)["status"] for job_id in job_ids]
    check("queued" in statuses, f"no job was still queued when Redis restarted: {statuses}")
    start = time.monotonic()
    api.hiccups.clear()
    stack.docker_run("restart", stack.container("redis"))
    finals = [api.wait(job_id)["status"] for job_id in job_ids]
    check(finals == ["succeeded"] * len(job_ids), f"after the Redis restart: {finals}")
    return (
        f"`docker restart` of Redis with jobs {', '.join(statuses)}: all {len(job_ids)} succeeded, "
        f"{time.monotonic() - start:.0f} s after the restart{hiccups(api)}"
    )


def hiccups(api: Api) -> str:
    """What polling met while the fault was on, for the summary line ('' when nothing)."""
    if not api.hiccups:
        return ""
    counts = Counter(api.hiccups)
    return "; meanwhile GET /jobs answered " + ", ".join(f"{what!r} x{n}" for what, n in counts.items())


def down_and_up(api: Api, stack: Stack, finished_jobs: list[str], model_id: str) -> tuple[str, float]:
    """`docker-compose down` then `up`: finished jobs, their results and the model are still there."""
    stack.compose_run("down")
    healthy_s = stack.up()
    for job_id in finished_jobs:
        view = api.job(job_id)
        check(view["status"] == "succeeded", f"job {job_id} after down/up: {view}")
        if view.get("result"):
            api.download(view["result"])
    listed = [model["id"] for model in api.client.get("/models").json()["items"]]
    check(model_id in listed, f"model {model_id} gone after down/up: {listed}")
    summary = f"`docker-compose down` then `up`: {len(finished_jobs)} finished jobs, their results and the model kept"
    return summary, healthy_s
