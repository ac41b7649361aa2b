"""`fetal-denoise train` and `fetal-denoise denoise` as a user runs them, on a small real volume."""

from __future__ import annotations

import json
import zipfile

import nibabel as nib
import numpy as np
import pytest

from shared.io import read_volume, write_volume


@pytest.fixture(scope="module")
def small_files(small_mni_volume, tmp_path_factory):
    """The small MNI block as clean NIfTI, a sigma-20 noisy copy, a second noisy copy, and a DICOM zip."""
    folder = tmp_path_factory.mktemp("cli-volumes")
    rng = np.random.default_rng(0)
    clean = write_volume(small_mni_volume, folder / "clean.nii.gz")
    noisy = small_mni_volume.with_data(
        small_mni_volume.data + rng.normal(0, 20 / 255, small_mni_volume.shape)
    )
    second = small_mni_volume.with_data(
        small_mni_volume.data + rng.normal(0, 20 / 255, small_mni_volume.shape)
    )
    return {
        "clean": clean,
        "noisy": write_volume(noisy, folder / "noisy.nii.gz"),
        "second": write_volume(second, folder / "second.nii.gz"),
        "dicom": write_volume(noisy, folder / "noisy.zip"),
    }


@pytest.fixture(scope="module")
def n2n_model(small_files, tmp_path_factory):
    """An N2N model trained for one short epoch through the CLI (clean + sigma, the paper's protocol)."""
    from cli.main import main

    out = tmp_path_factory.mktemp("n2n") / "model"
    with pytest.raises(SystemExit) as finished:
        main(
            [
                "train",
                "--method",
                "n2n",
                "--clean",
                str(small_files["clean"]),
                "--sigma",
                "20",
                "--out",
                str(out),
                "--epochs",
                "1",
                "--steps-per-epoch",
                "2",
                "--crop-size",
                "32",
                "--batch-size",
                "2",
                "--quiet",
            ]
        )
    assert finished.value.code == 0
    return out


@pytest.mark.slow
def test_n2n_train_writes_a_model_directory(n2n_model):
    """Training writes weights, config and a manifest recording the method, sigma and validation."""
    manifest = json.loads((n2n_model / "manifest.json").read_text())
    assert manifest["method"] == "n2n"
    assert manifest["config"]["epochs"] == 1 and manifest["config"]["crop_size"] == 32
    assert manifest["data"]["sigma"] == 20
    assert "val_loss" in manifest["validation"]


@pytest.mark.slow
def test_n2n_denoise_keeps_nifti_geometry(run_cli, n2n_model, small_files, tmp_path):
    """NIfTI in gives NIfTI out with the same affine and shape; --ground-truth prints both scores."""
    out = tmp_path / "denoised.nii.gz"
    result = run_cli(
        "denoise",
        small_files["noisy"],
        out,
        "--method",
        "n2n",
        "--model",
        n2n_model,
        "--second",
        small_files["second"],
        "--ground-truth",
        small_files["clean"],
        "--quiet",
    )
    assert result.code == 0, result.err
    noisy, denoised = nib.load(small_files["noisy"]), nib.load(out)
    assert np.array_equal(denoised.affine, noisy.affine) and denoised.shape == noisy.shape
    assert "input: PSNR" in result.out and "output: PSNR" in result.out


@pytest.mark.slow
def test_dicom_in_gives_a_derived_dicom_series_out(run_cli, n2n_model, small_files, tmp_path):
    """A DICOM zip in gives a zip of a new derived series with one file per slice."""
    out = tmp_path / "denoised.zip"
    result = run_cli("denoise", small_files["dicom"], out, "--method", "n2n", "--model", n2n_model, "--quiet")
    assert result.code == 0, result.err
    with zipfile.ZipFile(out) as archive:
        assert len(archive.namelist()) == 48
    original, derived = read_volume(small_files["dicom"]), read_volume(out)
    np.testing.assert_allclose(derived.affine, original.affine, atol=1e-4)
    assert derived.source.datasets[0].SeriesInstanceUID != original.source.datasets[0].SeriesInstanceUID


@pytest.mark.slow
def test_n2v_train_then_denoise_and_fit(run_cli, small_files, tmp_path):
    """n2v trains on a single noisy volume, denoises with the model, and --fit denoises without one."""
    model = tmp_path / "n2v-model"
    trained = run_cli(
        "train",
        "--method",
        "n2v",
        "--noisy",
        small_files["noisy"],
        "--out",
        model,
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "4",
        "--patch-size",
        "32",
        "--quiet",
    )
    assert trained.code == 0, trained.err
    assert json.loads((model / "manifest.json").read_text())["method"] == "n2v"
    with_model = run_cli(
        "denoise", small_files["noisy"], tmp_path / "a.npy", "--method", "n2v", "--model", model, "--quiet"
    )
    fitted = run_cli(
        "denoise",
        small_files["noisy"],
        tmp_path / "b.npy",
        "--method",
        "n2v",
        "--fit",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--patch-size",
        "32",
        "--quiet",
    )
    assert with_model.code == 0, with_model.err
    assert fitted.code == 0, fitted.err
    assert np.load(tmp_path / "b.npy").shape == (48, 64, 64)


@pytest.mark.slow
def test_n2n_on_single_noisy_volumes_trains_by_recorruption(run_cli, small_files, tmp_path):
    """A lone noisy volume trains N2N on recorrupted copies of itself, at its estimated noise level."""
    result = run_cli(
        "train", "--method", "n2n", "--noisy", small_files["noisy"], "--out", tmp_path / "m",
        "--epochs", "1", "--steps-per-epoch", "2", "--crop-size", "32", "--batch-size", "2", "--quiet",
    )  # fmt: skip
    assert result.code == 0, result.err
    data = json.loads((tmp_path / "m" / "manifest.json").read_text())["data"]
    assert data["source"] == "single" and data["pairs"].startswith("each scan with recorrupted copies")
    assert data["volumes"][0]["noise_std"] > 0


def test_options_of_the_other_method_are_refused(run_cli, small_files, tmp_path):
    """An N2N-only flag given to n2v is refused, not silently ignored."""
    result = run_cli(
        "train",
        "--method",
        "n2v",
        "--noisy",
        small_files["noisy"],
        "--out",
        tmp_path / "m",
        "--crop-size",
        "64",
    )
    assert result.code == 2
    assert "n2v has no option --crop-size" in result.err


def test_out_of_range_hyper_parameter_is_refused(run_cli, small_files, tmp_path):
    """A crop size that is not a multiple of 32 is refused with the field named."""
    result = run_cli(
        "train",
        "--method",
        "n2n",
        "--clean",
        small_files["clean"],
        "--sigma",
        "20",
        "--out",
        tmp_path / "m",
        "--crop-size",
        "50",
    )
    assert result.code == 2
    assert "crop_size" in result.err and "multiple of 32" in result.err


def test_several_files_after_one_flag(run_cli, small_files, tmp_path):
    """`--noisy a b --noisy2 c` pairs files one to one and names the mismatch."""
    result = run_cli(
        "train",
        "--method",
        "n2n",
        "--noisy",
        small_files["noisy"],
        small_files["second"],
        "--noisy2",
        small_files["second"],
        "--out",
        tmp_path / "m",
    )
    assert result.code == 2
    assert "--noisy has 2 volume(s) but --noisy2 has 1" in result.err


def test_denoise_with_a_missing_model_directory(run_cli, small_files, tmp_path):
    """A model directory that does not exist is a clear error, and no output is written."""
    out = tmp_path / "out.nii.gz"
    result = run_cli("denoise", small_files["noisy"], out, "--method", "n2n", "--model", tmp_path / "nope")
    assert result.code == 2
    assert "no model directory at" in result.err
    assert not out.exists()


@pytest.mark.slow
def test_denoise_reports_its_quality_and_what_it_removed(run_cli, n2n_model, small_files, tmp_path):
    """--quality prints the estimates, --quality-json writes them, --residual writes input - result."""
    result = run_cli(
        "denoise", small_files["noisy"], tmp_path / "out.nii.gz", "--method", "n2n", "--model", n2n_model,
        "--quality-json", tmp_path / "q.json", "--residual", tmp_path / "removed.nii.gz", "--quiet",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "noise sigma:" in result.out and "estimated error of the result (SURE" in result.out
    report = json.loads((tmp_path / "q.json").read_text())
    assert {"noise_sigma", "rmse_estimate", "psnr_estimate", "data_range", "method", "residual"} <= set(
        report
    )
    assert report["method"] == "n2n" and report["noise_sigma"] > 0
    # one probe, as every run: the uncertainty comes from the spread across slices and is printed
    assert report["sure"]["probes"] == 1 and report["rmse_uncertainty"] > 0
    assert f"RMSE {report['rmse_estimate']:.5g} +/- {report['rmse_uncertainty']:.3g}," in result.out
    noisy, out = read_volume(small_files["noisy"]).data, read_volume(tmp_path / "out.nii.gz").data
    np.testing.assert_allclose(read_volume(tmp_path / "removed.nii.gz").data, noisy - out, atol=1e-5)
