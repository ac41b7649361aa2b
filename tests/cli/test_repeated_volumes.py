"""`--volumes`: which volumes of a 4D series are repetitions to pair for N2N, on a synthetic series and on
heudiconv's real DWI series (b~5, b~5, b~1500)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from shared.volume import Volume


def tiny_n2n(folder: Path) -> tuple[str, ...]:
    """Flags of a seconds-long N2N fit: the crop and batch sizes go through a config file (no flags of their own)."""
    config = folder / "tiny-n2n.json"
    config.write_text(json.dumps({"crop_size": 32, "batch_size": 2}), encoding="utf-8")
    return ("--epochs", "1", "--steps-per-epoch", "2", "--config", str(config), "--quiet")


@pytest.fixture
def dwi_like(small_mni_volume: Volume, tmp_path: Path) -> Path:
    """A 4D NIfTI like a DWI series: two noisy repetitions of the anatomy, then a much darker volume."""
    rng = np.random.default_rng(7)
    base = small_mni_volume.data
    frames = [base + rng.normal(0, 0.08, base.shape) for _ in range(2)]
    frames.append(0.2 * base + rng.normal(0, 0.08, base.shape))  # a high-b volume: other contrast
    source = tmp_path / "dwi.nii.gz"
    nib.save(nib.Nifti1Image(np.stack(frames).transpose(3, 2, 1, 0), small_mni_volume.affine), source)
    return source


def heudiconv_dwi() -> Path:
    """heudiconv's real Siemens mosaic DWI series (three volumes: b~5, b~5, b~1500), or a skip saying why."""
    spec = importlib.util.find_spec("heudiconv")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    folder = Path(folders[0]) / "tests" / "data" / "b0dwiForFmap" if folders else None
    if folder is None or not folder.is_dir():
        pytest.skip("heudiconv's test DICOMs are not installed (the dev extra installs heudiconv)")
    return folder


@pytest.mark.parametrize(
    ("volumes", "message"),
    [
        ("0,5", "volumes: dwi.nii.gz holds 3 volumes (0 to 2); there is no volume 5"),
        ("1", "volumes: choose at least 2 volumes that repeat the same acquisition, to pair; got 1"),
        ("0-1", "volumes must list volume numbers of the series, counted from 0 and separated by commas"),
    ],
)
def test_a_bad_volume_choice_is_refused_before_any_training(
    run_cli, dwi_like: Path, tmp_path: Path, volumes: str, message: str
) -> None:
    """An index past the series, a single volume or a malformed list: exit 2, one line, nothing written."""
    out = tmp_path / "out.nii.gz"
    result = run_cli("denoise", dwi_like, out, "--method", "n2n", "--volumes", volumes, *tiny_n2n(tmp_path))
    assert result.code == 2
    assert message in result.err
    assert not out.exists()


def test_volumes_with_n2v_or_a_model_are_refused(run_cli, dwi_like: Path, tmp_path: Path) -> None:
    """n2v trains on every volume; a trained model is used as it is: --volumes means nothing there."""
    n2v = run_cli(
        "denoise", dwi_like, tmp_path / "a.nii.gz", "--method", "n2v", "--volumes", "0,1", "--quiet"
    )
    assert n2v.code == 2 and "n2v trains on every volume anyway" in n2v.err
    model = run_cli(
        "denoise", dwi_like, tmp_path / "b.nii.gz", "--method", "n2n", "--model", tmp_path, "--volumes", "0,1"
    )
    assert model.code == 2 and "only apply when fitting" in model.err


@pytest.mark.slow
def test_chosen_volumes_are_fitted_and_the_whole_series_comes_back(
    run_cli, dwi_like: Path, tmp_path: Path
) -> None:
    """--volumes 0,1 fits N2N on the two repetitions; all three volumes are denoised, the 4D header kept."""
    out = tmp_path / "out.nii.gz"
    result = run_cli("denoise", dwi_like, out, "--method", "n2n", "--volumes", "0,1", *tiny_n2n(tmp_path))
    assert result.code == 0, result.err
    written = nib.load(out)
    assert written.shape == nib.load(dwi_like).shape
    assert np.allclose(written.affine, nib.load(dwi_like).affine)


def test_heudiconvs_real_series_refuses_a_fourth_volume(run_cli, tmp_path: Path) -> None:
    """The real series has three volumes: asking for volume 3 names the range, before any training."""
    result = run_cli(
        "denoise",
        heudiconv_dwi(),
        tmp_path / "out.zip",
        "--method",
        "n2n",
        "--volumes",
        "0,3",
        *tiny_n2n(tmp_path),
    )
    assert result.code == 2
    assert "volumes: b0dwiForFmap holds 3 volumes (0 to 2); there is no volume 3" in result.err


@pytest.mark.slow
def test_heudiconvs_real_b5_pair_is_fitted_and_all_three_volumes_denoised(run_cli, tmp_path: Path) -> None:
    """The real b~5 pair (volumes 0 and 1) fits N2N; the b~1500 volume is denoised too, never trained on."""
    from shared.io import read_volume

    out = tmp_path / "out.nii.gz"
    result = run_cli(
        "denoise", heudiconv_dwi(), out, "--method", "n2n", "--volumes", "0,1", *tiny_n2n(tmp_path)
    )
    assert result.code == 0, result.err
    denoised = read_volume(out)
    assert denoised.is_series and denoised.data.shape == (3, 81, 152, 150)
