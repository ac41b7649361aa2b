"""POST /denoise with inputs as they come: a single 2D image (refused up front when nothing can train on it),
a DICOM without geometry (its warnings kept in the job), an integer NIfTI kept in its data type."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue
from pydicom.data import get_testdata_file


def _image_2d(path: Path, side: int) -> Path:
    """A true 2D NIfTI of `side` x `side` pixels: a smooth blob with noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:side, :side] / side
    data = np.exp(-((y - 0.5) ** 2 + (x - 0.5) ** 2) * 8) + rng.normal(0, 0.05, (side, side))
    nib.save(nib.Nifti1Image(data.astype(np.float32), np.diag([0.8, 0.8, 4.0, 1.0])), path)
    return path


def test_a_2d_image_too_small_to_train_on_is_422_saying_what_would_work(
    client: TestClient, queue: RecordingQueue, tmp_path: Path
):
    """A 6x6 image to fit on: 422 before queuing, asking for a larger image or the series, never another plane
    (a single image has no other); a patch larger than a 96x96 image: 422 naming the patch that fits. The
    shipped prior, which trains nothing, takes the tiny image."""
    tiny = _image_2d(tmp_path / "tiny.nii.gz", 6)
    prior = client.post("/denoise", files={"file": (tiny.name, tiny.read_bytes())})
    assert prior.status_code == 202, prior.text
    response = client.post(
        "/denoise", data={"method": "n2n", "fit": "true"}, files={"file": (tiny.name, tiny.read_bytes())}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail == (
        "tiny.nii.gz is a single 6x6 image: too small to train on; training needs an image of at least 8x8 pixels: "
        "give a larger image, or the series (volume) the slice comes from"
    )
    assert "plane" not in detail
    n2v = client.post("/denoise", data={"method": "n2v"}, files={"file": (tiny.name, tiny.read_bytes())})
    assert n2v.status_code == 422 and n2v.json()["detail"].startswith("tiny.nii.gz is a single 6x6 image")
    image = _image_2d(tmp_path / "slice.nii.gz", 96)
    large_patch = client.post(
        "/denoise",
        data={"method": "n2v", "params": '{"patch_size": 128}'},
        files={"file": (image.name, image.read_bytes())},
    )
    assert large_patch.status_code == 422
    assert "choose patch_size <= 96 (a multiple of 4)" in large_patch.json()["detail"]
    assert len(queue.submitted) == 1  # the prior's job only: no refused request was queued
    fits = client.post("/denoise", data={"method": "n2v"}, files={"file": (image.name, image.read_bytes())})
    assert fits.status_code == 202, fits.text


def test_a_dicom_without_geometry_is_accepted_and_the_job_records_what_was_assumed(
    client: TestClient, queue: RecordingQueue, tmp_path: Path
):
    """pydicom's MR_small without orientation, position and pixel spacing: 202, and GET /jobs/{id} lists
    the reader's three warnings (identity orientation, 1 mm pixels, the origin)."""
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    for keyword in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing"):
        delattr(ds, keyword)
    path = tmp_path / "nogeom.dcm"
    ds.save_as(path, enforce_file_format=True)
    response = client.post("/denoise", data={"method": "n2v"}, files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 202, response.text
    warnings = client.get(response.json()["status_url"]).json()["warnings"]
    assert len(warnings) == 3
    assert "no ImageOrientationPatient" in warnings[0] and "identity orientation" in warnings[0]
    assert "PixelSpacing" in warnings[1] and "1 x 1 mm" in warnings[1]
    assert "ImagePositionPatient" in warnings[2]


def test_keep_dtype_travels_to_the_worker(client: TestClient, queue: RecordingQueue, tmp_path: Path):
    """keep_dtype=true is queued with the job (the worker writes the input's integer type); default false."""
    path = tmp_path / "int16.nii.gz"
    data = (np.random.default_rng(1).random((64, 64, 8)) * 1000).astype(np.int16)
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    for value, expected in (("true", True), (None, False)):
        form = {"method": "n2v"} | ({"keep_dtype": value} if value else {})
        response = client.post("/denoise", data=form, files={"file": (path.name, path.read_bytes())})
        assert response.status_code == 202, response.text
        assert queue.submitted[-1][0].payload["keep_dtype"] is expected
