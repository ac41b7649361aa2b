"""`fetal-denoise train` refuses what its trainer would refuse, before reading more than the inputs or
training at all: the door check the gateway runs (shared.methods.checks.check_request)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shared.io import write_volume
from shared.volume import Volume


@pytest.fixture
def scan(small_mni_volume: Volume, tmp_path: Path) -> Path:
    """One 3D volume as .nii.gz."""
    return write_volume(small_mni_volume, tmp_path / "scan.nii.gz")


def test_clean_targets_without_clean_volumes_are_refused_before_training(run_cli, scan: Path, tmp_path: Path):
    """Noise2Clean on --noisy volumes: exit 2 with the trainer's message, no model directory."""
    config = tmp_path / "clean.json"
    config.write_text(json.dumps({"targets": "clean"}), encoding="utf-8")
    out = tmp_path / "model"
    result = run_cli("train", "--method", "n2n", "--noisy", scan, "--out", out, "--config", config, "--quiet")
    assert result.code == 2
    assert (
        "targets='clean' (Noise2Clean) needs clean volumes with synthetic noise; real noisy scans have none"
        in result.err
    )
    assert not out.exists()


def test_repeats_on_a_single_volume_are_refused_before_training(run_cli, scan: Path, tmp_path: Path):
    """--repeats pairs the volumes of a series: a 3D volume has one, refused naming the file."""
    out = tmp_path / "model"
    result = run_cli("train", "--method", "n2n", "--noisy", scan, "--repeats", "--out", out, "--quiet")
    assert result.code == 2
    assert "scan.nii.gz: repeats needs a series of at least 2 repeated volumes, got one volume" in result.err
    assert not out.exists()


def _no_work(*args: object, **kwargs: object) -> None:
    raise AssertionError("the fit started although the door check should have refused the request")


@pytest.fixture
def series(small_mni_volume: Volume, tmp_path: Path) -> Path:
    """A 4D series of two volumes as .nii.gz."""
    data = np.stack([small_mni_volume.data, small_mni_volume.data[::-1]])
    return write_volume(Volume(data=data, affine=small_mni_volume.affine), tmp_path / "series.nii.gz")


@pytest.mark.parametrize(
    ("source", "out", "flags", "message"),
    [
        (
            "series",
            "out.dcm",
            (),
            "out.dcm: a series of 2 volumes cannot be written as one .dcm file; name a .zip (a DICOM series of "
            "single-frame slices), .nii or .nii.gz file",
        ),
        (
            "scan",
            "out.npy",
            ("--keep-dtype",),
            "out.npy: a .npy output is float32; keeping the input's data type needs a NIfTI output",
        ),
    ],
    ids=["a series to one .dcm", "--keep-dtype to .npy"],
)
def test_denoise_refuses_an_output_it_cannot_write_before_the_fit(
    run_cli,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    source: str,
    out: str,
    flags: tuple[str, ...],
    message: str,
):
    """Refused only after the fit and the quality assessment (802 s lost); now exit 2 before any work."""
    monkeypatch.setattr("cli.denoise.load_workflow", _no_work)
    path = tmp_path / out
    result = run_cli(
        "denoise",
        request.getfixturevalue(source),
        path,
        "--method",
        "n2v",
        *flags,
        "--epochs",
        "1",
        "--quiet",
    )
    assert result.code == 2
    assert message in result.err
    assert not path.exists()
