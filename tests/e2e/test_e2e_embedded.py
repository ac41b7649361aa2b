"""End to end with the embedded default: no Redis, the queue in the data directory, workers as processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nibabel as nib
import psutil
import pytest
from e2e_helpers import upload, wait_for, wait_for_stage

from services.embedded.runtime import REPO_ROOT, embedded_service, free_port, wait_until_healthy
from shared.io import read_volume
from shared.metrics import evaluate

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N2N_PAIR = {"epochs": 3, "crop_size": 32, "batch_size": 4, "steps_per_epoch": 5, "seed": 0}
NO_REDIS = {"BROKER_URL": "", "RESULT_BACKEND": "", "API_KEY": ""}


def test_embedded_job_survives_a_worker_crash_and_a_restart(tmp_path: Path, e2e_volumes: dict[str, Path]):
    """Upload -> N2N on the pair -> the worker is SIGKILLed mid-training -> restart -> the job finishes,
    with its metrics step, and the result keeps the input's affine."""
    data_dir = tmp_path / "data"
    with embedded_service(data_dir, env=NO_REDIS) as service, httpx.Client(base_url=service.base_url) as api:
        assert api.get("/health").json()["queue"] == "local"
        response = api.post(
            "/denoise",
            data={"method": "n2n", "params": json.dumps(N2N_PAIR)},
            files=upload(
                ("file", e2e_volumes["noisy"]),
                ("file2", e2e_volumes["noisy2"]),
                ("ground_truth", e2e_volumes["clean"]),
            ),
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        view = wait_for_stage(api, job_id, "training")
        assert view["status"] == "running", view
        os.killpg(service.workers["n2n"].pid, signal.SIGKILL)  # the worker and its pool child: a crash
        service.workers["n2n"].wait()

    with embedded_service(data_dir, env=NO_REDIS) as service, httpx.Client(base_url=service.base_url) as api:
        view = wait_for(api, job_id)
        assert view["status"] == "succeeded", view
        download = api.get(view["result"])
        assert download.status_code == 200
        (tmp_path / "result.nii.gz").write_bytes(download.content)

    result = nib.load(tmp_path / "result.nii.gz")
    assert (result.affine == nib.load(e2e_volumes["noisy"]).affine).all()
    clean = read_volume(e2e_volumes["clean"]).data
    expected = evaluate(read_volume(tmp_path / "result.nii.gz").data, clean).volume.psnr
    assert view["metrics"]["volume"]["psnr"] == pytest.approx(expected, abs=0.01)


def test_embedded_queue_keeps_jobs_queued_while_no_worker_runs(tmp_path: Path, e2e_volumes: dict[str, Path]):
    """A job accepted while no worker runs waits in the data directory and runs after a restart."""
    data_dir = tmp_path / "data"
    with (
        embedded_service(data_dir, env=NO_REDIS, queues=()) as service,
        httpx.Client(base_url=service.base_url) as api,
    ):
        response = api.post(
            "/metrics",
            files=upload(("prediction", e2e_volumes["noisy"]), ("ground_truth", e2e_volumes["clean"])),
        )
        job_id = response.json()["job_id"]
        assert api.get(f"/jobs/{job_id}").json()["status"] == "queued"

    with (
        embedded_service(data_dir, env=NO_REDIS, queues=("metrics",)) as service,
        httpx.Client(base_url=service.base_url) as api,
    ):
        view = wait_for(api, job_id, timeout_s=120)
    assert view["status"] == "succeeded", view
    expected = evaluate(read_volume(e2e_volumes["noisy"]).data, read_volume(e2e_volumes["clean"]).data)
    assert view["metrics"]["volume"]["psnr"] == pytest.approx(expected.volume.psnr, abs=1e-6)


def test_embedded_worker_main_process_killed_is_replaced_and_its_job_finishes(
    tmp_path: Path, e2e_volumes: dict[str, Path]
):
    """SIGKILL of the n2n worker's main process mid-training: the supervisor starts a new worker, the job
    it had claimed goes back in the local queue, and it finishes, all without restarting the service."""
    with (
        embedded_service(tmp_path / "data", env=NO_REDIS, queues=("n2n",)) as service,
        httpx.Client(base_url=service.base_url) as api,
    ):
        response = api.post(
            "/denoise",
            data={"method": "n2n", "params": json.dumps(N2N_PAIR)},
            files=upload(("file", e2e_volumes["noisy"]), ("file2", e2e_volumes["noisy2"])),
        )
        job_id = response.json()["job_id"]
        assert wait_for_stage(api, job_id, "training")["status"] == "running"
        main = service.workers["n2n"].pid
        os.kill(main, signal.SIGKILL)  # the main process only: its pool child is orphaned, still training
        view = wait_for(api, job_id)
        assert view["status"] == "succeeded", view
        assert service.workers["n2n"].pid != main
        assert service.supervisor.workers["n2n"].restarts == 1


def test_serve_stopped_with_sigterm_stops_its_workers(tmp_path: Path):
    """`fetal-denoise serve` gets SIGTERM (docker stop, systemd): it exits, and so do its three workers."""
    port = free_port()
    env = {**os.environ, **NO_REDIS, "DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "cli.main", "serve", "--port", str(port)]
    serve = subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", serve, timeout_s=120)
        deadline = time.monotonic() + 120
        while httpx.get(f"http://127.0.0.1:{port}/health").json()["status"] != "ok":
            assert time.monotonic() < deadline, "the workers never sent a heartbeat"
            time.sleep(1)
        workers = psutil.Process(serve.pid).children()
        assert len(workers) == 3
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=90) != 0
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == [] and len(gone) == 3
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.pid, signal.SIGKILL)


def test_embedded_default_denoises_with_the_shipped_prior(tmp_path: Path, e2e_volumes: dict[str, Path]):
    """POST /denoise with only a file: the shipped prior, told the upload's noise level, no training; the
    job's quality block names the prior's weights and the sigma it was told."""
    with (
        embedded_service(tmp_path / "data", env=NO_REDIS) as service,
        httpx.Client(base_url=service.base_url) as api,
    ):
        response = api.post("/denoise", files=upload(("file", e2e_volumes["noisy"])))
        assert response.status_code == 202, response.text
        view = wait_for(api, response.json()["job_id"])
        assert view["status"] == "succeeded", view
        assert view["model_id"] == "prior"
        used = view["quality"]["model"]
        assert used["model"] == "prior" and len(used["weights_sha256"]) == 64
        assert used["noise_told"]["source"] in ("background", "wavelet") and used["noise_told"]["sigma"] > 0
        download = api.get(view["result"])
        assert download.status_code == 200
        (tmp_path / "result.nii.gz").write_bytes(download.content)
    result = nib.load(tmp_path / "result.nii.gz")
    assert (result.affine == nib.load(e2e_volumes["noisy"]).affine).all()
    assert result.shape == nib.load(e2e_volumes["noisy"]).shape


def test_a_job_purged_mid_training_leaves_nothing_on_disk(tmp_path: Path, e2e_volumes: dict[str, Path]):
    """`fetal-denoise purge --older-than-days 0` while a fit trains: the job is cancelled, its worker stops,
    and once its step has ended nothing of the job (uploads, checkpoints, fitted model) is left on disk."""
    data_dir = tmp_path / "data"
    long_fit = {**N2N_PAIR, "epochs": 200}
    with (
        embedded_service(data_dir, env=NO_REDIS, queues=("n2n",)) as service,
        httpx.Client(base_url=service.base_url) as api,
    ):
        response = api.post(
            "/denoise",
            data={"method": "n2n", "params": json.dumps(long_fit)},
            files=upload(("file", e2e_volumes["noisy"]), ("file2", e2e_volumes["noisy2"])),
        )
        job_id = response.json()["job_id"]
        assert wait_for_stage(api, job_id, "training")["status"] == "running"
        purge = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli.main",
                "purge",
                "--older-than-days",
                "0",
                "--data-dir",
                str(data_dir),
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **NO_REDIS},
            capture_output=True,
            text=True,
            check=True,
        )
        assert purge.stdout.startswith("purged 1 job(s)"), purge.stdout
        assert api.get(f"/jobs/{job_id}").status_code == 404
        log = data_dir / "logs" / "worker-n2n.log"
        deadline = time.monotonic() + 120
        while f"job {job_id} denoise: cancelled" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert f"job {job_id} denoise: cancelled" in log.read_text()
        time.sleep(1.0)  # what the step's end removed is gone; nothing writes after it
        leftovers = [path for path in (data_dir / "jobs").iterdir() if job_id in path.name]
        assert leftovers == []
