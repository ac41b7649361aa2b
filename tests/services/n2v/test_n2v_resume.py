"""Per-epoch checkpoints: a training killed with SIGKILL resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from services.n2v.backend import backend_config
from services.n2v.checkpoint import find_checkpoint, read_state, restore_checkpoint, save_checkpoint
from services.n2v.noisy import noisy_from_clean
from services.n2v.tf_env import N2V, quiet
from services.n2v.train import train
from shared.methods.n2v import N2VConfig
from shared.progress import Progress
from shared.training.state import TrainingState
from shared.volume import Volume

REPO = Path(__file__).resolve().parents[3]
TINY = {
    "plane": "axial",
    "patch_size": 32,
    "unet_n_first": 8,
    "batch_size": 4,
    "epochs": 6,
    "steps_per_epoch": 4,
}

_CHILD = """
import json, sys
import numpy as np
from shared.methods.n2v import N2VConfig
from services.n2v.train import train
from shared.training.state import TrainingState
from shared.volume import Volume

work = sys.argv[1]
volume = Volume(np.load(work + "/noisy.npy", allow_pickle=False), np.load(work + "/affine.npy", allow_pickle=False))
config = N2VConfig(**json.loads(sys.argv[2]))
train(config, [volume], work + "/model", progress=lambda p: print("EPOCH", p.epoch, flush=True))
"""


def _model(config: N2VConfig, patches: np.ndarray, basedir: Path) -> N2V:
    """A compiled n2v model, ready to train."""
    with quiet():
        model = N2V(backend_config(config, patches), name="n2v", basedir=str(basedir))
        model.prepare_for_training()
    return model


@pytest.mark.slow
def test_a_checkpoint_restores_weights_and_optimiser_state(tmp_path: Path) -> None:
    """Weights, Adam moments, step count, learning rate and state.json come back exactly."""
    config = N2VConfig(**TINY)
    patches = np.random.default_rng(0).random((8, 32, 32, 1), dtype=np.float32)
    targets = np.concatenate([patches, np.ones_like(patches)], axis=-1)
    trained = _model(config, patches, tmp_path / "a")
    trained.keras_model.fit(patches, targets, batch_size=4, epochs=1, verbose=0)
    trained.keras_model.optimizer.learning_rate.assign(1e-5)
    state = TrainingState.start(config={}, data_fingerprint="x").model_copy(
        update={"epoch": 1, "seconds": 1.5, "best_epoch": 1, "best_val_loss": 0.5}
    )
    save_checkpoint(tmp_path, state, trained.keras_model, tmp_path / "no-best-weights-yet.h5")
    fresh = _model(config, patches, tmp_path / "b")
    ckpt = find_checkpoint(tmp_path)
    assert ckpt is not None

    restore_checkpoint(ckpt, fresh.keras_model, tmp_path / "b" / "weights_best.h5")

    before, after = trained.keras_model.optimizer, fresh.keras_model.optimizer
    assert int(after.iterations.numpy()) == 2 and float(after.learning_rate.numpy()) == pytest.approx(1e-5)
    assert all(
        np.array_equal(a.numpy(), b.numpy()) for a, b in zip(before.variables, after.variables, strict=True)
    )
    weights = zip(trained.keras_model.get_weights(), fresh.keras_model.get_weights(), strict=True)
    assert all(np.array_equal(a, b) for a, b in weights)
    assert read_state(ckpt) == state


@pytest.mark.slow
def test_a_training_killed_mid_way_resumes_to_the_full_epoch_count(
    small_mni_volume: Volume, tmp_path: Path
) -> None:
    """SIGKILL after epoch 2 of 6; resuming runs only the remaining epochs and keeps the whole history."""
    (noisy,) = noisy_from_clean([small_mni_volume], sigma=20, seed=0)
    np.save(tmp_path / "noisy.npy", noisy.data)
    np.save(tmp_path / "affine.npy", noisy.affine)
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(tmp_path), json.dumps(TINY)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.split() == ["EPOCH", "2"]:
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        child.kill()
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    model_dir = tmp_path / "model"
    ckpt = find_checkpoint(model_dir)
    assert ckpt is not None and not (model_dir / "manifest.json").exists()
    stopped_at = read_state(ckpt).epoch
    assert 2 <= stopped_at < 6
    events: list[Progress] = []

    manifest = train(N2VConfig(**TINY), [noisy], model_dir, progress=events.append, resume=True)

    assert [e.epoch for e in events if e.val_loss is not None] == list(range(stopped_at + 1, 7))
    assert [r["epoch"] for r in manifest.validation["history"]] == [1, 2, 3, 4, 5, 6]
    assert manifest.validation["epochs_trained"] == 6
    seconds = [r["seconds"] for r in manifest.validation["history"]]  # cumulative over both runs
    assert seconds == sorted(seconds)
