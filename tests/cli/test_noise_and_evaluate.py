"""`fetal-denoise noise` and `fetal-denoise evaluate` on real MNI152 files."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest


@pytest.mark.slow
def test_noise_writes_nifti_with_the_inputs_geometry_and_sigma(run_cli, mni_nifti_path, tmp_path):
    """Noise of sigma 20 is added on the input's range; the output keeps the input's affine."""
    out = tmp_path / "noisy.nii.gz"
    result = run_cli("noise", mni_nifti_path, out, "--sigma", "20", "--seed", "0")
    assert result.code == 0, result.err
    clean = nib.load(mni_nifti_path)
    noisy = nib.load(out)
    assert np.array_equal(noisy.affine, clean.affine)
    residual = noisy.get_fdata() - clean.get_fdata()
    assert abs(residual.std() - 20 / 255) < 0.002  # MNI152 spans [0, 1]


@pytest.mark.slow
def test_noise_is_reproducible_from_its_seed(run_cli, mni_nifti_path, tmp_path):
    """The same seed writes the same noisy volume."""
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert run_cli("noise", mni_nifti_path, a, "--seed", "3").code == 0
    assert run_cli("noise", mni_nifti_path, b, "--seed", "3").code == 0
    assert np.array_equal(np.load(a), np.load(b))


@pytest.mark.slow
def test_evaluate_json_scores_noisy_against_clean(run_cli, mni_nifti_path, tmp_path):
    """evaluate --json gives whole-volume and slice-mean PSNR/RMSE/SSIM; sigma 20 on range 1 is ~22.1 dB."""
    noisy = tmp_path / "noisy.nii.gz"
    assert run_cli("noise", mni_nifti_path, noisy, "--sigma", "20").code == 0
    result = run_cli("evaluate", noisy, mni_nifti_path, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert {"psnr", "rmse", "ssim", "slice_mean"} <= report.keys()
    assert {"psnr", "rmse", "ssim"} <= report["slice_mean"].keys()
    assert abs(report["psnr"] - 22.11) < 0.1
    assert abs(report["rmse"] - 20 / 255) < 0.002
    assert report["data_range"] == 1.0


@pytest.mark.slow
def test_evaluate_prints_a_table(run_cli, mni_nifti_path):
    """Without --json, evaluate prints a readable table naming both aggregations."""
    result = run_cli("evaluate", mni_nifti_path, mni_nifti_path)
    assert result.code == 0
    assert "whole volume" in result.out and "mean of slices" in result.out


def test_bad_input_is_one_line_on_stderr_with_exit_2(run_cli, tmp_path):
    """A corrupt file gives a one-line error naming the file, exit code 2 and no traceback."""
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"this is not a nifti file")
    result = run_cli("evaluate", broken, broken)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("fetal-denoise: error: ") and "broken.nii.gz" in lines[0]
    assert "Traceback" not in result.err


def test_unsupported_output_format_is_refused(run_cli, mni_nifti_path, tmp_path):
    """An output extension we cannot write is refused before anything is written."""
    out = tmp_path / "noisy.png"
    result = run_cli("noise", mni_nifti_path, out)
    assert result.code == 2
    assert "noisy.png" in result.err
    assert not out.exists()


def test_shape_mismatch_in_evaluate(run_cli, mni_nifti_path, tmp_path):
    """Volumes of different shapes are refused with both shapes named."""
    small = tmp_path / "small.npy"
    np.save(small, np.zeros((4, 5, 6), dtype=np.float32))
    result = run_cli("evaluate", small, mni_nifti_path)
    assert result.code == 2
    assert "(4, 5, 6)" in result.err and "(189, 233, 197)" in result.err
