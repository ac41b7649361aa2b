"""Service overhead: end-to-end latency of POST /denoise with a registered N2N model vs the in-process call.

    python -m benchmarks.service_overhead [--repeats 3] [--queue redis|local]

Both sides denoise the same 256x256x136 NIfTI volume (256x256 sagittal slices, 136 of them, from the
MNI152 template with noise of sigma 20 on the 0-255 scale) with the same registered model:

- in process: read_volume -> load_model + denoise (services.n2n.predict) -> write_volume;
- service:    upload (POST /denoise) -> queue -> worker (same calls) -> poll GET /jobs/{id} -> download.

Runs alternate (in process, service, in process, ...) so both see the same machine load, after a warm-up
of each on a small block (imports torch in this process and in the worker's pool child); medians are
reported. On a shared machine the load drifts between runs, so each service run is also split in the same
run: the seconds the worker spent in the core (read + load + denoise + write, from the task's result) and
the rest, which is the service's own overhead (upload, validation, queue, polling, download). The goal: overhead under 10 % or under 0.5 s. The model's quality
does not matter here (it is trained for a few steps only), only the time of the work around it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

from benchmarks.environment import machine
from services.embedded.runtime import ServiceProcesses, embedded_service
from shared.atomic import atomic_write_text
from shared.intensity import IntensityMapping
from shared.io import read_volume, write_volume
from shared.jobs.registry import register_model
from shared.noise import add_noise
from shared.settings import Settings
from shared.volume import Volume

SHAPE_ZYX = (256, 256, 136)
REDIS_URL = "redis://127.0.0.1:6379/0"
POLL_S = 0.05


def benchmark_volume() -> Volume:
    """The MNI152 template padded / cropped to 256x256x136 (Z, Y, X; sagittal = X), with sigma-20 noise."""
    from nilearn.datasets import load_mni152_template

    image = load_mni152_template(resolution=1)
    data = np.asarray(image.get_fdata(), dtype=np.float32).transpose(2, 1, 0)
    out = np.zeros(SHAPE_ZYX, dtype=np.float32)
    z, y, x = (min(a, b) for a, b in zip(data.shape, SHAPE_ZYX, strict=True))
    x0 = (data.shape[2] - x) // 2
    out[:z, :y, :x] = data[:z, :y, x0 : x0 + x]
    mapping = IntensityMapping.min_max(out)
    noisy = add_noise(mapping.normalise(out), 20.0, np.random.default_rng(0))
    return Volume(data=mapping.denormalise(noisy), affine=image.affine)


def small_block(volume: Volume) -> Volume:
    """A central 64^3 block: the warm-up input and the tiny model's training data."""
    return Volume(data=np.ascontiguousarray(volume.data[96:160, 96:160, 36:100]), affine=volume.affine)


def train_tiny_model(block: Volume, data_dir: Path) -> str:
    """Register an N2N model trained for a few steps (timing only needs the architecture)."""
    from services.n2n.workflow import workflow
    from shared.methods.n2n import N2NConfig

    config = N2NConfig(epochs=1, steps_per_epoch=2, batch_size=2, crop_size=32)
    work = data_dir / "jobs" / "benchmark-model"
    workflow.train_model(config, [block], work, sigma=20.0)
    model_id = f"n2n-benchmark-{uuid.uuid4().hex[:6]}"
    register_model(data_dir, model_id, work)
    return model_id


def in_process(path: Path, model_dir: Path, out: Path) -> float:
    """Seconds for read -> load model + denoise -> write, in this process."""
    from services.n2n.predict import denoise, load_model

    started = time.perf_counter()
    volume = read_volume(path)
    write_volume(denoise(volume, load_model(model_dir)), out)
    return time.perf_counter() - started


def through_service(api: httpx.Client, path: Path, model_id: str, out: Path) -> tuple[float, str]:
    """Seconds from POST /denoise to the downloaded result (polling every POLL_S), and the job id."""
    started = time.perf_counter()
    response = api.post(
        "/denoise",
        data={"method": "n2n", "model_id": model_id},
        files={"file": (path.name, path.read_bytes())},
    )
    response.raise_for_status()
    job_url = response.json()["status_url"]
    while (view := api.get(job_url).json())["status"] not in {"succeeded", "failed"}:
        time.sleep(POLL_S)
    if view["status"] != "succeeded":
        raise RuntimeError(f"the benchmark job failed: {view['error']}")
    out.write_bytes(api.get(view["result"]).content)
    return time.perf_counter() - started, view["job_id"]


def worker_seconds(settings: Settings, job_id: str) -> float:
    """Seconds the worker spent in the job's denoise step (from the task's result)."""
    from celery.result import AsyncResult

    from shared.queue.app import make_celery

    return float(AsyncResult(f"{job_id}-denoise", app=make_celery(settings)).result["elapsed_seconds"])


def main() -> None:
    """Run the comparison and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=2, help="Timed runs of each side (after a warm-up).")
    parser.add_argument(
        "--queue", choices=["redis", "local"], default="redis", help="Redis at 127.0.0.1 or files."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="Also write the figures as JSON (default: benchmarks/results/service-overhead-<queue>.json).",
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(2)
    folder = Path(tempfile.mkdtemp(prefix="service-overhead-"))
    data_dir = folder / "data"
    volume = benchmark_volume()
    path = write_volume(volume, folder / "noisy.nii.gz")
    warm_path = write_volume(small_block(volume), folder / "warm.nii.gz")
    model_id = train_tiny_model(small_block(volume), data_dir)
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    env = (
        {"BROKER_URL": REDIS_URL, "BROKER_KEY_PREFIX": prefix}
        if args.queue == "redis"
        else {"BROKER_URL": ""}
    )
    env |= {"API_KEY": "", "OMP_NUM_THREADS": "2"}
    local: list[float] = []
    service_s: list[float] = []
    core_s: list[float] = []
    settings = Settings.model_validate(
        {**{k: v for k, v in env.items() if k in Settings.model_fields}, "DATA_DIR": data_dir}
    )
    service: ServiceProcesses
    with (
        embedded_service(data_dir, env=env, queues=("n2n",)) as service,
        httpx.Client(base_url=service.base_url, timeout=600) as api,
    ):
        model_dir = data_dir / "models" / model_id
        in_process(warm_path, model_dir, folder / "warm-local.nii.gz")
        through_service(api, warm_path, model_id, folder / "warm-service.nii.gz")
        for _ in range(args.repeats):
            local.append(in_process(path, model_dir, folder / "local.nii.gz"))
            seconds, job_id = through_service(api, path, model_id, folder / "service.nii.gz")
            service_s.append(seconds)
            core_s.append(worker_seconds(settings, job_id))
    if args.queue == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    same = np.array_equal(
        read_volume(folder / "local.nii.gz").data, read_volume(folder / "service.nii.gz").data
    )
    base, full = statistics.median(local), statistics.median(service_s)
    overhead = full - base
    split = [total - core for total, core in zip(service_s, core_s, strict=True)]
    own = statistics.median(split)
    own_pct = statistics.median(
        100 * (total - core) / core for total, core in zip(service_s, core_s, strict=True)
    )
    print(
        f"volume {path.name}: {'x'.join(map(str, SHAPE_ZYX))} (Z, Y, X), {path.stat().st_size / 2**20:.1f} MiB"
    )
    print(f"queue: {args.queue}; repeats: {args.repeats} (medians); torch threads: 2")
    print(f"in-process read + denoise + write: {base:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in local)})")
    print(
        f"service POST -> poll -> download:  {full:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in service_s)})"
    )
    print(f"  of which the worker's core call: {', '.join(f'{t:.2f}' for t in core_s)} s")
    print(f"overhead, service vs in-process medians: {overhead:+.2f} s ({100 * overhead / base:+.1f} %)")
    print(f"overhead, same-run split (service - worker core): {own:.2f} s ({own_pct:.1f} %)")
    print(f"identical outputs: {same}")
    ok = own < 0.5 or own_pct < 10.0
    print(f"goal (under 10 % or under 0.5 s, same-run split): {'met' if ok else 'NOT met'}")
    out = args.out or Path("benchmarks/results") / f"service-overhead-{args.queue}.json"
    figures = {
        "command": f"python -m benchmarks.service_overhead --queue {args.queue} --repeats {args.repeats}",
        "volume_shape_zyx": list(SHAPE_ZYX),
        "in_process_seconds": local,
        "service_seconds": service_s,
        "worker_core_seconds": core_s,
        "overhead_median_seconds": round(overhead, 3),
        "overhead_median_percent": round(100 * overhead / base, 2),
        "same_run_split_seconds": round(own, 3),
        "same_run_split_percent": round(own_pct, 2),
        "identical_outputs": bool(same),
        "machine": machine(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(figures, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
