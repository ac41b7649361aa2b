"""`fetal-denoise denoise` with no model and no fit: the shipped prior, told the input's noise level."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from shared.models.builtin import prior_available

needs_prior = pytest.mark.skipif(not prior_available(), reason="this checkout carries no shipped prior")

AFFINE = np.array([[1.5, 0.0, 0.0, -10.0], [0.0, 1.2, 0.0, 20.0], [0.0, 0.0, 1.0, 5.0], [0.0, 0.0, 0.0, 1.0]])
"""An anisotropic, shifted grid: the output must keep it exactly."""
NOISE = 30.0
"""Gaussian noise of the phantoms, in their units (0-900)."""


def phantom(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """Nested ellipsoids of 0, 600, 900 and 400 (a head, its brain, a ventricle) with Gaussian noise."""
    x, y, z = np.meshgrid(*[np.linspace(-1.0, 1.0, n) for n in shape], indexing="ij")
    radius = np.sqrt((x / 0.85) ** 2 + (y / 0.8) ** 2 + (z / 0.75) ** 2)
    clean = 600.0 * (radius < 1.0) + 300.0 * (radius < 0.6) - 500.0 * (radius < 0.25)
    return clean + np.random.default_rng(seed).normal(0.0, NOISE, shape)


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    nib.save(nib.Nifti1Image(data.astype(np.float32), affine), path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small noisy NIfTI (24 x 48 x 40 voxels) and a second acquisition of the same phantom."""
    folder = tmp_path_factory.mktemp("prior-cli")
    shape = (24, 48, 40)
    return {
        "noisy": write_nifti(folder / "noisy.nii.gz", phantom(shape, seed=0)),
        "second": write_nifti(folder / "second.nii.gz", phantom(shape, seed=1)),
    }


def same_grid(source: Path, written: Path) -> None:
    """The output has the input's shape and affine and holds finite values."""
    before, after = nib.load(source), nib.load(written)
    assert after.shape == before.shape
    np.testing.assert_allclose(after.affine, before.affine, atol=1e-5)
    assert np.all(np.isfinite(np.asarray(after.dataobj)))


@needs_prior
def test_default_is_the_shipped_prior_told_the_measured_noise(run_cli, files, tmp_path) -> None:
    out = tmp_path / "out.nii.gz"
    result = run_cli("denoise", files["noisy"], out, "--quality", "--quiet")
    assert result.code == 0, result.err
    assert f"wrote {out}" in result.out
    same_grid(files["noisy"], out)
    assert "model: the shipped prior" in result.out
    told = next(line for line in result.out.splitlines() if line.startswith("noise level it was told"))
    assert told.endswith(("background", "wavelet"))  # measured from the input alone, and says how
    assert float(told.split(":")[1].split()[0]) == pytest.approx(NOISE, rel=0.2)


@needs_prior
def test_a_given_noise_sigma_is_told_as_given(run_cli, files, tmp_path) -> None:
    result = run_cli(
        "denoise", files["noisy"], tmp_path / "out.nii.gz", "--noise-sigma", "10", "--quality", "--quiet"
    )
    assert result.code == 0, result.err
    told = next(line for line in result.out.splitlines() if line.startswith("noise level it was told"))
    assert "(10.00 on the 0-255 scale), given" in told


@needs_prior
def test_a_second_acquisition_tells_the_pair_sigma(run_cli, files, tmp_path) -> None:
    result = run_cli(
        "denoise",
        files["noisy"],
        tmp_path / "out.nii.gz",
        "--second",
        files["second"],
        "--quality",
        "--quiet",
    )
    assert result.code == 0, result.err
    told = next(line for line in result.out.splitlines() if line.startswith("noise level it was told"))
    assert told.endswith(", pair")
    assert float(told.split(":")[1].split()[0]) == pytest.approx(NOISE, rel=0.1)


@pytest.mark.slow
@needs_prior
def test_fit_fine_tunes_the_prior(run_cli, files, tmp_path) -> None:
    out = tmp_path / "out.nii.gz"
    result = run_cli(
        "denoise",
        files["noisy"],
        out,
        "--second",
        files["second"],
        "--fit",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--quality",
        "--quiet",
    )
    assert result.code == 0, result.err
    same_grid(files["noisy"], out)
    assert "model: the prior fine-tuned on the input" in result.out


def test_scratch_without_fit_is_refused(run_cli, files, tmp_path) -> None:
    out = tmp_path / "out.nii.gz"
    result = run_cli("denoise", files["noisy"], out, "--scratch")
    assert result.code == 2
    assert "--scratch" in result.err and "--fit" in result.err
    assert not out.exists()


def test_n2v_takes_no_noise_sigma(run_cli, files, tmp_path) -> None:
    out = tmp_path / "out.nii.gz"
    result = run_cli("denoise", files["noisy"], out, "--method", "n2v", "--noise-sigma", "5")
    assert result.code == 2
    assert "--noise-sigma" in result.err and "n2v" in result.err
    assert not out.exists()


@needs_prior
def test_an_isotropic_slab_denoises_with_the_default(run_cli, tmp_path) -> None:
    """A thin isotropic slab (30 x 96 x 80 voxels of 1 mm): no acquisition plane to guess from spacing."""
    source = write_nifti(tmp_path / "slab.nii.gz", phantom((30, 96, 80), seed=2), np.eye(4))
    out = tmp_path / "slab-out.nii.gz"
    result = run_cli("denoise", source, out, "--quiet")
    assert result.code == 0, result.err
    same_grid(source, out)
