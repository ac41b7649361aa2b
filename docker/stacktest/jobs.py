"""What a user does with the service, checked as a user would check it; the same on the stack and embedded.

Each job is timed from its POST to the moment GET /jobs/{id} says it has finished.
"""

from __future__ import annotations

import gzip
import io
import json
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from api import Api
from volumes import ZIP_SLIP_MEMBER

# Tiny budgets: seconds of training on 2 CPU cores. A budget this small only beats the noisy input with a
# higher learning rate, more blind spots per patch and no batch norm (as in tests/e2e).
N2V_FIT = {
    "epochs": 3,
    "steps_per_epoch": 20,
    "batch_size": 16,
    "patch_size": 32,
    "lr": 3e-3,
    "n2v_perc_pix": 1.5,
    "batch_norm": False,
    "seed": 0,
}
N2N_TRAIN = {"epochs": 2, "crop_size": 32, "batch_size": 4, "steps_per_epoch": 5, "seed": 0}
MIN_GAIN_DB = 2.0
"""How far above the noisy input's PSNR the N2V fit must land (tests/e2e asks the same)."""


@dataclass
class Outcome:
    """What the user jobs left behind: seconds per job, and the ids the fault checks look for later."""

    seconds: dict[str, float]
    finished_jobs: list[str]
    model_id: str


def run_user_jobs(api: Api, inputs: dict[str, Path], noisy_psnr: float) -> Outcome:
    """N2V fit with metrics, N2N trained on a pair and used, a DICOM series, a hostile file, no API key."""
    seconds: dict[str, float] = {}

    fit, seconds["N2V fit on the upload, with metrics"] = timed_job(
        api,
        "/denoise",
        {"method": "n2v", "params": json.dumps(N2V_FIT)},
        [("file", inputs["noisy"]), ("ground_truth", inputs["clean"])],
    )
    psnr = fit["metrics"]["volume"]["psnr"]
    check(psnr > noisy_psnr + MIN_GAIN_DB, f"N2V fit: PSNR {psnr:.2f} dB, input {noisy_psnr:.2f} dB")
    check_nifti(api.download(fit["result"]), "N2V fit")

    train, seconds["N2N trained on a noisy pair (POST /train)"] = timed_job(
        api,
        "/train",
        {"method": "n2n", "params": json.dumps(N2N_TRAIN)},
        [("files", inputs["noisy"]), ("files2", inputs["noisy2"])],
    )
    model_id = train["model_id"]
    listed = {model["id"]: model for model in api.client.get("/models").json()["items"]}
    check(model_id in listed and listed[model_id]["method"] == "n2n", f"/models lacks {model_id}: {listed}")

    denoise, seconds["N2N denoise with the trained model"] = timed_job(
        api, "/denoise", {"method": "n2n", "model_id": model_id}, [("file", inputs["noisy"])]
    )
    check_nifti(api.download(denoise["result"]), "N2N denoise")

    series, seconds["N2N denoise of a DICOM series zip"] = timed_job(
        api, "/denoise", {"method": "n2n", "model_id": model_id}, [("file", inputs["series"])]
    )
    check_derived_series(api.download(series["result"]).content, inputs["series"].read_bytes())

    check_refusals(api, inputs)
    return Outcome(seconds, [fit["job_id"], train["job_id"], denoise["job_id"], series["job_id"]], model_id)


def timed_job(
    api: Api, path: str, data: dict[str, str], files: list[tuple[str, Path]]
) -> tuple[dict[str, Any], float]:
    """Submit a job and wait for it; its final view (it must have succeeded) and its seconds."""
    start = time.monotonic()
    accepted = api.submit(path, data, files)
    view = api.wait(accepted["job_id"])
    elapsed = time.monotonic() - start
    check(view["status"] == "succeeded", f"{path} {data.get('method')}: {view}")
    return {**view, "model_id": accepted.get("model_id") or view.get("model_id")}, elapsed


def check_refusals(api: Api, inputs: dict[str, Path]) -> None:
    """A zip-slip upload gets 422 with its reason; a request without the API key gets 401."""
    with inputs["slip"].open("rb") as slip:
        response = api.client.post("/denoise", data={"method": "n2v"}, files={"file": ("slip.zip", slip)})
    expected = f"slip.zip: unsafe member path '{ZIP_SLIP_MEMBER}' (absolute or containing '..')"
    check(response.status_code == 422, f"zip slip: {response.status_code} {response.text}")
    check(response.json()["detail"] == expected, f"zip slip: {response.json()}")
    anonymous = httpx.get(f"{api.base_url}/models", timeout=30.0, verify=api.verify)
    check(anonymous.status_code == 401, f"no API key: {anonymous.status_code} {anonymous.text}")
    check(
        httpx.get(f"{api.base_url}/health", timeout=30.0, verify=api.verify).status_code == 200,
        "/health needs no key",
    )


def check_nifti(response: httpx.Response, what: str) -> None:
    """The download is a gzipped NIfTI-1 file (its header starts with sizeof_hdr = 348)."""
    header = gzip.decompress(response.content)[:4]
    check(int.from_bytes(header, "little") == 348, f"{what}: not a NIfTI-1 file")


def check_derived_series(result_zip: bytes, input_zip: bytes) -> None:
    """The result is a zip of as many DICOM slices as the input, in a new series of the same study."""
    import pydicom

    def datasets(content: bytes) -> list[Any]:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return [pydicom.dcmread(io.BytesIO(archive.read(name))) for name in archive.namelist()]

    before, after = datasets(input_zip), datasets(result_zip)
    check(len(after) == len(before), f"DICOM: {len(after)} slices out, {len(before)} in")
    check(
        {ds.SeriesInstanceUID for ds in after}.isdisjoint({ds.SeriesInstanceUID for ds in before}),
        "DICOM: the result reuses the input's series UID",
    )
    check(
        {ds.StudyInstanceUID for ds in after} == {ds.StudyInstanceUID for ds in before}, "DICOM: study lost"
    )
    check(all("DERIVED" in ds.ImageType for ds in after), "DICOM: ImageType is not DERIVED")


def check(condition: bool, message: str) -> None:
    """Fail the stack test with `message` unless `condition` holds."""
    if not condition:
        raise AssertionError(message)
