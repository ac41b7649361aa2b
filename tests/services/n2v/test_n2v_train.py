"""A short real N2V training on MNI152 slices with sigma=20 noise, and what a user does with its model."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from services.n2v.data import clean_metrics, prepare
from services.n2v.noisy import noisy_from_clean
from services.n2v.predict import denoise, load_model, n_tiles_for
from services.n2v.tf_env import tf
from services.n2v.train import MODEL_FILES, train
from shared.errors import InvalidModelError
from shared.manifest import ModelManifest
from shared.methods.n2v import N2VConfig
from shared.metrics import compare
from shared.progress import Progress
from shared.volume import Volume

pytestmark = pytest.mark.slow

# Small and fast, yet enough for N2V to beat the noise within seconds: 32x32 axial patches, a thin
# U-Net, more blind spots per patch than the paper's 0.198% and no batch norm (whose running averages
# lag far behind in a training this short).
QUICK = {
    "plane": "axial",
    "patch_size": 32,
    "unet_n_first": 16,
    "batch_norm": False,
    "lr": 4e-3,
    "n2v_perc_pix": 5.0,
    "epochs": 6,
    "steps_per_epoch": 20,
}


@dataclass(frozen=True)
class Trained:
    """One training run shared by the tests of this module."""

    model_dir: Path
    manifest: ModelManifest
    events: list[Progress]
    config: N2VConfig
    clean: Volume
    noisy: Volume


@pytest.fixture(scope="module")
def trained(small_mni_volume: Volume, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """N2V trained on the small MNI volume with sigma=20 Gaussian noise, the clean volume for validation."""
    config = N2VConfig(**QUICK)
    (noisy,) = noisy_from_clean([small_mni_volume], sigma=20, seed=0)
    events: list[Progress] = []
    model_dir = tmp_path_factory.mktemp("n2v") / "model"
    manifest = train(
        config, [noisy], model_dir, clean=[small_mni_volume], progress=events.append, data_info={"sigma": 20}
    )
    return Trained(model_dir, manifest, events, config, small_mni_volume, noisy)


def _psnr(volume: Volume, clean: Volume) -> float:
    """PSNR of a volume against the clean one, on the clean volume's [0, 1] scale."""
    low, scale = float(clean.data.min()), float(np.ptp(clean.data))
    return compare((clean.data - low) / scale, (volume.data - low) / scale, data_range=1.0).psnr


def test_training_raises_validation_psnr_clearly_above_the_noisy_input(trained: Trained) -> None:
    """The kept model scores at least 1 dB better than the noisy validation patches (about 22.1 dB)."""
    validation = trained.manifest.validation

    assert validation["input_psnr"] == pytest.approx(22.1, abs=0.3)
    assert validation["val_psnr"] > validation["input_psnr"] + 1.0
    assert validation["val_rmse"] < validation["input_rmse"]


def test_progress_reports_every_epoch_with_losses_and_metrics(trained: Trained) -> None:
    """Loading first; then one event per epoch, in order, ending at fraction 1, with finite losses and PSNR;
    step events in between (throttled) never run ahead of the epochs."""
    assert trained.events[0].stage == "loading" and trained.events[0].fraction == 0.0
    epochs = [e for e in trained.events if e.val_loss is not None]
    assert [e.epoch for e in epochs] == list(range(1, 7))
    assert epochs[-1].fraction == 1.0 and epochs[-1].epochs == 6
    assert all(e.stage == "training" and e.steps == 20 for e in epochs)
    assert all(np.isfinite([e.loss, e.val_loss, e.val_psnr, e.val_rmse]).all() for e in epochs)
    training = [e for e in trained.events if e.stage == "training"]
    assert [e.fraction for e in training] == sorted(e.fraction for e in training)
    assert [e.seconds for e in training] == sorted(e.seconds for e in training)


def test_the_model_directory_holds_n2vs_files_and_our_manifest(trained: Trained) -> None:
    """n2v's config and weights sit beside manifest.json, which records config, data and framework."""
    manifest = trained.manifest
    n2v_config = json.loads((trained.model_dir / "n2v" / "config.json").read_text())

    assert sorted(manifest.files) == sorted(MODEL_FILES)
    assert not (trained.model_dir / "n2v" / "weights_now.h5").exists()
    assert manifest.framework == "tensorflow 2.21.0 / n2v 0.3.3"
    assert N2VConfig.model_validate(manifest.config) == trained.config
    assert manifest.data["sigma"] == 20 and manifest.data["n_train_patches"] > 0
    assert manifest.data["split"]["mode"] == "by_slice_block"
    assert (n2v_config["unet_kern_size"], n2v_config["train_loss"], n2v_config["n2v_patch_shape"]) == (
        3,
        "mse",
        [32, 32],
    )
    assert len(manifest.validation["history"]) == 6


def test_the_reloaded_model_is_the_kept_model(trained: Trained) -> None:
    """Reloaded from disk, the model reproduces the recorded validation PSNR of its best epoch exactly."""
    loaded = load_model(trained.model_dir)
    data = prepare(trained.config, [trained.noisy], clean=[trained.clean])
    mean, std = float(loaded.model.config.means[0]), float(loaded.model.config.stds[0])

    prediction = loaded.model.keras_model.predict((data.val - mean) / std, verbose=0)[..., :1] * std + mean

    assert clean_metrics(prediction, data)[0] == pytest.approx(
        trained.manifest.validation["val_psnr"], abs=1e-4
    )


def test_predictions_after_reload_are_identical(trained: Trained) -> None:
    """Two separate loads of the model directory denoise a volume to the very same voxels."""
    first = denoise(trained.noisy, load_model(trained.model_dir))
    second = denoise(trained.noisy, trained.model_dir)

    assert np.array_equal(first.data, second.data)


def test_denoise_returns_the_inputs_scale_shape_and_geometry(trained: Trained) -> None:
    """A volume on a 0-4000 scale comes back on that scale, same shape and affine, and less noisy."""
    scaled = trained.noisy.with_data(trained.noisy.data * 4000.0 + 100.0)
    clean_scaled = trained.clean.with_data(trained.clean.data * 4000.0 + 100.0)
    events: list[Progress] = []

    denoised = denoise(scaled, trained.model_dir, progress=events.append)

    assert denoised.shape == scaled.shape and np.array_equal(denoised.affine, scaled.affine)
    assert abs(float(denoised.data.mean()) - float(clean_scaled.data.mean())) < 0.02 * 4000
    assert _psnr(denoised, clean_scaled) > _psnr(scaled, clean_scaled) + 1.0
    assert [e.step for e in events] == list(range(1, scaled.shape[0] + 1))


def test_a_small_memory_budget_tiles_the_prediction_without_changing_it(
    trained: Trained, mni_volume: Volume
) -> None:
    """Four 233x197 axial slices: an 8 MB budget makes n2v predict 2x2 tiles, with the untiled result."""
    loaded = load_model(trained.model_dir)
    volume = Volume(mni_volume.data[90:94], mni_volume.affine)

    whole = denoise(volume, loaded, memory_budget_mb=2048)
    tiled = denoise(volume, loaded, memory_budget_mb=8)

    assert n_tiles_for(loaded, (233, 197), 8) == (2, 2)
    assert n_tiles_for(loaded, (233, 197), 2048) == (1, 1)
    assert np.allclose(tiled.data, whole.data, atol=1e-4 * float(np.ptp(whole.data)))


def test_normalisation_round_trip_is_exact_through_an_identity_network(trained: Trained) -> None:
    """With the network swapped for the identity, denoise gives back the input voxels (float32 rounding)."""
    loaded = load_model(trained.model_dir)
    inputs = tf.keras.Input(shape=(None, None, 1))
    loaded.model.keras_model = tf.keras.Model(inputs, tf.keras.layers.Lambda(lambda x: x)(inputs))
    volume = trained.noisy.with_data(trained.noisy.data * 4000.0 + 100.0)

    same = denoise(volume, loaded)

    assert np.allclose(same.data, volume.data, rtol=0, atol=1e-5 * float(np.ptp(volume.data)))


def test_a_modified_weight_file_is_refused(trained: Trained, tmp_path: Path) -> None:
    """Changing one byte of the weights makes loading fail with the checksum error."""
    copy = tmp_path / "model"
    shutil.copytree(trained.model_dir, copy)
    weights = copy / "n2v" / "weights_best.h5"
    content = bytearray(weights.read_bytes())
    content[-1] ^= 0xFF
    weights.write_bytes(bytes(content))

    with pytest.raises(InvalidModelError) as caught:
        load_model(copy)

    assert (
        str(caught.value) == f"{copy}: n2v/weights_best.h5 does not match its checksum (corrupt or modified)"
    )


def test_a_model_of_another_method_is_refused(trained: Trained, tmp_path: Path) -> None:
    """A model directory whose manifest says n2n is not loaded as an N2V model."""
    copy = tmp_path / "model"
    shutil.copytree(trained.model_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["method"] = "n2n"
    (copy / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(InvalidModelError, match="this is a n2n model, not a n2v model"):
        load_model(copy)


def test_the_lr_ramps_down_along_the_cosine_step_by_step(small_mni_volume: Volume, tmp_path: Path) -> None:
    """rampdown=1: the rate of the last step of epoch 1 (step 3 of 6) is 0.75 lr; of epoch 2, 0.067 lr."""
    config = N2VConfig(**{**QUICK, "epochs": 2, "steps_per_epoch": 3, "rampdown": 1.0})
    (noisy,) = noisy_from_clean([small_mni_volume], sigma=20, seed=0)
    manifest = train(config, [noisy], tmp_path / "model")
    rates = [record["lr"] for record in manifest.validation["history"]]
    lr = QUICK["lr"]
    assert rates == pytest.approx(
        [lr * 0.5 * (1 + np.cos(np.pi * 2 / 6)), lr * 0.5 * (1 + np.cos(np.pi * 5 / 6))]
    )
