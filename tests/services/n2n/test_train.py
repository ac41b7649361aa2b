"""N2N training: a real short training, the model directory, progress, and resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from services.n2n.data import N2NTrainingData, from_clean
from services.n2n.train import train
from shared.errors import ConfigError
from shared.manifest import ModelManifest, read_manifest
from shared.progress import Progress
from shared.volume import Volume

from .conftest import SIGMA, TRAINED_CONFIG, as_real_pairs, tiny_config

ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("train_worker.py")


def _checkpoint_epoch(out_dir: Path) -> int:
    """Epochs completed according to the checkpoint file."""
    with safe_open(str(out_dir / "checkpoint.safetensors"), framework="pt") as handle:
        return int(json.loads(handle.metadata()["state"])["epoch"])


@pytest.mark.slow
def test_short_training_beats_the_noisy_input(trained: tuple[Path, ModelManifest]) -> None:
    """A few epochs on real MNI152 slices raise validation PSNR clearly above the noisy input's."""
    _, manifest = trained
    validation = manifest.validation
    assert validation["val_psnr"] > validation["input_psnr"] + 3.0
    assert validation["val_rmse"] < validation["input_rmse"]


@pytest.mark.slow
def test_model_directory_is_complete_and_verified(trained: tuple[Path, ModelManifest]) -> None:
    """The directory holds weights, config, checkpoint and a manifest whose checksums verify."""
    out_dir, manifest = trained
    names = {p.name for p in out_dir.iterdir()}
    assert {"model.safetensors", "config.json", "checkpoint.safetensors", "manifest.json"} <= names
    assert read_manifest(out_dir, "n2n").files == manifest.files
    assert set(manifest.files) == {"model.safetensors", "config.json"}
    assert manifest.config == TRAINED_CONFIG.model_dump(mode="json")
    assert manifest.data["sigma"] == SIGMA
    assert json.loads((out_dir / "config.json").read_text())["architecture"]["parameters"] == 988_609


@pytest.mark.slow
def test_the_kept_model_is_the_best_by_validation(trained: tuple[Path, ModelManifest]) -> None:
    """model.safetensors holds the epoch with the lowest validation loss, recorded in the manifest."""
    _, manifest = trained
    history = manifest.validation["history"]
    assert [r["epoch"] for r in history] == list(range(1, TRAINED_CONFIG.epochs + 1))
    best = min(history, key=lambda record: record["val_loss"])
    assert manifest.validation["best_epoch"] == best["epoch"]
    assert manifest.validation["val_loss"] == best["val_loss"]


@pytest.mark.slow
def test_progress_reports_steps_and_epochs(small_data: N2NTrainingData, tmp_path: Path) -> None:
    """Each epoch ends with an event carrying its loss and validation metrics; fractions reach 1."""
    events: list[Progress] = []
    train(tiny_config(), small_data, tmp_path, progress=events.append)
    ends = [e for e in events if e.val_loss is not None]
    assert [e.epoch for e in ends] == [1, 2]
    assert all(e.stage == "training" and e.epochs == 2 and e.val_psnr is not None for e in ends)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


@pytest.mark.slow
def test_training_killed_with_sigkill_resumes_to_the_same_model(
    small_mni_volume: Volume, tmp_path: Path
) -> None:
    """A training process killed mid-run resumes from its checkpoint to the full epoch count, ending
    with exactly the weights of an uninterrupted run."""
    config = tiny_config(epochs=3, steps_per_epoch=4)
    volume_file = tmp_path / "volume.npz"
    np.savez(volume_file, data=small_mni_volume.data, affine=small_mni_volume.affine)
    killed_dir = tmp_path / "killed"
    command = [
        sys.executable,
        str(WORKER),
        str(volume_file),
        str(killed_dir),
        config.model_dump_json(),
        str(SIGMA),
        "cpu",  # bit-for-bit equality is a CPU property; cuDNN may pick other kernels per process
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == "epoch 1":
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not (killed_dir / "manifest.json").exists()
    assert 1 <= _checkpoint_epoch(killed_dir) < config.epochs

    data = from_clean([small_mni_volume], SIGMA, config)
    resumed = train(config, data, killed_dir, resume=True, device="cpu")
    assert _checkpoint_epoch(killed_dir) == config.epochs
    assert [r["epoch"] for r in resumed.validation["history"]] == [1, 2, 3]

    reference_dir = tmp_path / "uninterrupted"
    reference = train(config, data, reference_dir, device="cpu")
    assert resumed.validation["history"][-1]["val_loss"] == reference.validation["history"][-1]["val_loss"]
    for name in ("model.safetensors", "checkpoint.safetensors"):
        ours, theirs = load_file(killed_dir / name), load_file(reference_dir / name)
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[key], theirs[key]) for key in ours), name


@pytest.mark.slow
def test_noise2clean_trains_against_clean_targets(small_data: N2NTrainingData, tmp_path: Path) -> None:
    """targets='clean' validates on noisy -> clean (its loss is the squared error to the clean slices)."""
    manifest = train(tiny_config(targets="clean", epochs=2, steps_per_epoch=5), small_data, tmp_path)
    validation = manifest.validation
    assert "noisy -> clean" in validation["criterion"]
    # MSE against clean slices is RMSE squared; against a noisy copy it would carry the noise variance too.
    assert validation["val_loss"] == pytest.approx(validation["val_rmse"] ** 2, rel=1e-4)
    assert manifest.config["targets"] == "clean"


def test_noise2clean_without_clean_slices_is_refused_before_clearing(
    small_data: N2NTrainingData, tmp_path: Path
) -> None:
    """Real pairs + targets='clean' fail at once and leave the output directory as it was."""
    pairs = as_real_pairs(small_data)
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError, match="Noise2Clean"):
        train(tiny_config(targets="clean"), pairs, tmp_path)
    assert (tmp_path / "manifest.json").read_text() == "{}"
