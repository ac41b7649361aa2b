"""`fetal-denoise noise-level` on real MNI152 files with noise of known sigma."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

from shared.intensity import Normalisation
from shared.io import write_volume
from shared.noise import NoiseKind, add_noise
from shared.volume import Volume

SIGMA = 20.0 / 255


def noisy_file(mni_volume: Volume, folder: Path, kind: NoiseKind, name: str, crop=np.s_[:, :, :]) -> Path:
    """The template at 2 mm with noise of sigma 20/255 (shared.noise), written with shared.io."""
    clean = mni_volume.data[::2, ::2, ::2][crop]
    noisy = add_noise(clean, 20.0, np.random.default_rng(0), kind)
    affine = mni_volume.affine.copy()
    affine[:3, :3] *= 2.0
    return write_volume(Volume(data=noisy, affine=affine), folder / name, description="noisy")


@pytest.mark.slow
def test_rician_file_text_report(run_cli, mni_volume, tmp_path) -> None:
    """A Rician NIfTI file: sigma from the Rayleigh air, in the file's units and on the 0-255 scale."""
    path = noisy_file(mni_volume, tmp_path, "rician", "rician.nii.gz")
    result = run_cli("noise-level", path)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("rician.nii.gz: shape 95x117x99; 0-255 scale: its 0.5-99.9 percentile range")
    assert "from the air background" in lines[1]
    sigma = float(lines[1].split()[2])
    assert sigma == pytest.approx(SIGMA, rel=0.02)
    assert "Rayleigh (magnitude image) air" in result.out and "wavelet:" in result.out


@pytest.mark.slow
def test_json_report(run_cli, mni_volume, tmp_path) -> None:
    """--json prints the NoiseLevel model: both estimates, the 0-255 figure on the methods' percentile range."""
    path = noisy_file(mni_volume, tmp_path, "rician", "rician.npy")
    result = run_cli("noise-level", path, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["source"] == "background"
    assert report["background"]["distribution"] == "rayleigh"
    assert report["background"]["sigma"] == pytest.approx(SIGMA, rel=0.02)
    assert report["scale"] == pytest.approx(Normalisation().fit(np.load(path)).scale, rel=1e-6)
    assert report["sigma_255"] == pytest.approx(report["sigma"] / report["scale"] * 255)
    assert report["wavelet"]["slices_total"] == 95


@pytest.mark.slow
def test_gaussian_file_is_measured_on_its_gaussian_air(run_cli, mni_volume, tmp_path) -> None:
    """Gaussian noise (negative air values): the background estimate says so and still measures sigma."""
    path = noisy_file(mni_volume, tmp_path, "gaussian", "gaussian.nii.gz")
    report = json.loads(run_cli("noise-level", path, "--json").out)
    assert report["background"]["distribution"] == "gaussian"
    assert report["background"]["sigma"] == pytest.approx(SIGMA, rel=0.02)


def test_a_scan_without_air_says_why(run_cli, mni_volume, tmp_path) -> None:
    """A block from inside the brain: the background estimate is unavailable with its reason; wavelet used."""
    path = noisy_file(mni_volume, tmp_path, "rician", "inside.nii.gz", crop=np.s_[30:60, 35:80, 30:70])
    result = run_cli("noise-level", path)
    assert result.code == 0, result.err
    assert "from the wavelet estimate" in result.out
    assert "background: unavailable: no air background was found" in result.out
    report = json.loads(run_cli("noise-level", path, "--json").out)
    assert report["background"]["sigma"] is None and report["background"]["reason"]


@pytest.mark.slow
def test_a_series_gets_one_estimate_per_frame(run_cli, mni_volume, tmp_path) -> None:
    """A 4D NIfTI of two noisy frames: a text block and a JSON object per frame, each near the true sigma."""
    clean = mni_volume.data[::2, ::2, ::2]
    rng = np.random.default_rng(0)
    frames = np.stack([add_noise(clean, 20.0, rng, "rician"), add_noise(clean, 20.0, rng, "rician")])
    path = write_volume(Volume(data=frames, affine=mni_volume.affine), tmp_path / "series.nii.gz")
    text = run_cli("noise-level", path)
    assert text.code == 0, text.err
    assert "series.nii.gz, frame 0:" in text.out and "series.nii.gz, frame 1:" in text.out
    reports = json.loads(run_cli("noise-level", path, "--json").out)
    assert [r["background"]["sigma"] == pytest.approx(SIGMA, rel=0.02) for r in reports] == [True, True]


def test_bad_input_is_one_line_with_exit_2(run_cli, tmp_path) -> None:
    """A corrupt file and a constant volume each get one line on stderr and exit code 2."""
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"not a volume")
    constant = tmp_path / "constant.npy"
    np.save(constant, np.ones((4, 32, 32), dtype=np.float32))
    for path in (broken, constant):
        result = run_cli("noise-level", path)
        assert result.code == 2
        assert len(result.err.strip().splitlines()) == 1 and path.name in result.err
        assert "Traceback" not in result.err


def test_a_malformed_dicom_is_one_line_and_exit_code_2(run_cli, tmp_path) -> None:
    """A DICOM file whose RescaleSlope is 'ab': one line naming the file and the attribute, exit code 2, no
    traceback."""
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    tag = Tag("RescaleSlope")
    ds[tag] = RawDataElement(tag, "DS", 2, b"ab", 0, False, True)
    ds.save_as(tmp_path / "bad.dcm", enforce_file_format=True)
    result = run_cli("noise-level", tmp_path / "bad.dcm")
    assert result.code == 2
    assert result.err == "fetal-denoise: error: bad.dcm: RescaleSlope is not a number ('ab')\n"
    assert result.out == ""


def test_noise_level_measures_along_the_axis_denoise_reports(run_cli, tmp_path):
    """`noise-level` without --slice-axis measures along the acquisition axis, as `denoise --quality` does, so
    the sigma both print agrees: here a thick-slice stack whose thick axis is X."""
    import nibabel as nib

    rng = np.random.default_rng(3)
    z, y, _ = np.mgrid[:64, :64, :12]
    data = (
        100.0 * (((z - 32) ** 2 + (y - 32) ** 2) < 600) + 20.0 * np.sin(z / 3.0) + rng.normal(0, 8, z.shape)
    )
    path = tmp_path / "stack.nii.gz"
    nib.save(nib.Nifti1Image(data.astype(np.float32).transpose(2, 1, 0), np.diag([4.0, 1.0, 1.0, 1.0])), path)
    report = json.loads(run_cli("noise-level", path, "--json").out)
    assert report["wavelet"]["slice_axis"] == 2
