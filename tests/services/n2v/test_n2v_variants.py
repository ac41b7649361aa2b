"""The other ways to train N2V: 3D patches (with a structN2V mask), N2V2, and fit-on-this-volume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.n2v.noisy import noisy_from_clean
from services.n2v.predict import denoise
from services.n2v.train import train
from services.n2v.workflow import workflow
from shared.methods.n2v import N2VConfig
from shared.metrics import compare
from shared.volume import Volume

pytestmark = pytest.mark.slow


def _psnr(volume: Volume, clean: Volume) -> float:
    """PSNR against the clean volume on its [0, 1] scale."""
    low, scale = float(clean.data.min()), float(np.ptp(clean.data))
    return compare((clean.data - low) / scale, (volume.data - low) / scale, data_range=1.0).psnr


def test_3d_training_with_a_struct_mask_denoises_the_whole_volume(
    small_mni_volume: Volume, tmp_path: Path
) -> None:
    """A 3D model trains on 32^3 ZYX patches (structN2V mask in-plane) and predicts the volume at once."""
    (noisy,) = noisy_from_clean([small_mni_volume], sigma=20, seed=0)
    config = N2VConfig(
        dims=3,
        patch_size=32,
        unet_n_first=8,
        batch_size=2,
        epochs=2,
        steps_per_epoch=3,
        n2v_perc_pix=1.0,
        struct_n2v_mask=[[0, 0, 0], [1, 0, 1], [0, 0, 0]],
    )

    manifest = train(config, [noisy], tmp_path / "model")
    denoised = denoise(noisy, tmp_path / "model")

    n2v_config = json.loads((tmp_path / "model" / "n2v" / "config.json").read_text())
    assert (n2v_config["n_dim"], n2v_config["axes"], n2v_config["n2v_patch_shape"]) == (
        3,
        "ZYXC",
        [32, 32, 32],
    )
    assert n2v_config["structN2Vmask"] == [[[0, 0, 0], [1, 0, 1], [0, 0, 0]]]
    assert manifest.data["n_val_patches"] >= 1 and len(manifest.validation["history"]) == 2
    assert denoised.shape == noisy.shape and np.isfinite(denoised.data).all()
    assert not np.array_equal(denoised.data, noisy.data)


def test_n2v2_trains_with_blurpool_no_top_skip_and_the_median_manipulator(
    small_mni_volume: Volume, tmp_path: Path
) -> None:
    """The N2V2 option builds n2v's N2V2 network, trains, and denoises."""
    (noisy,) = noisy_from_clean([small_mni_volume], sigma=20, seed=0)
    config = N2VConfig(n2v2=True, plane="axial", patch_size=32, unet_n_first=8, epochs=2, steps_per_epoch=3)

    manifest = train(config, [noisy], tmp_path / "model")
    denoised = denoise(noisy, tmp_path / "model")

    n2v_config = json.loads((tmp_path / "model" / "n2v" / "config.json").read_text())
    assert (n2v_config["blurpool"], n2v_config["skip_skipone"], n2v_config["n2v_manipulator"]) == (
        True,
        True,
        "median",
    )
    assert np.isfinite(manifest.validation["val_loss"])
    assert denoised.shape == noisy.shape and np.isfinite(denoised.data).all()


def test_a_fit_on_the_volume_cleans_the_one_scan_it_is_given(
    small_mni_volume: Volume, tmp_path: Path
) -> None:
    """With only a noisy scan, fitting on it within a small budget gives a volume closer to the truth."""
    (noisy,) = noisy_from_clean([small_mni_volume], sigma=20, seed=1)
    config = N2VConfig(
        plane="axial",
        patch_size=32,
        unet_n_first=16,
        batch_norm=False,
        lr=4e-3,
        n2v_perc_pix=5.0,
        epochs=5,
        steps_per_epoch=20,
    )

    denoised = workflow.denoise_volume(noisy, config=config, work_dir=tmp_path)

    assert denoised.shape == noisy.shape and np.array_equal(denoised.affine, noisy.affine)
    assert _psnr(denoised, small_mni_volume) > _psnr(noisy, small_mni_volume) + 1.0
    assert (tmp_path / "manifest.json").is_file()
