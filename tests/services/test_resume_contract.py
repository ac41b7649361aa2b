"""The one resume rule holds the same way for both methods' real trainers (shared/training/resume.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.errors import ConfigError
from shared.methods import MethodName, parse_config
from shared.methods.workflow import load_workflow
from shared.progress import Progress
from shared.volume import Volume

TINY: dict[MethodName, dict[str, Any]] = {
    "n2n": {"batch_size": 2, "crop_size": 32, "steps_per_epoch": 2, "lr": 1e-3},
    "n2v": {"plane": "axial", "patch_size": 32, "unet_n_first": 8, "batch_size": 4, "steps_per_epoch": 2},
}
SIGMA = 30.0


def _train(
    method: MethodName, volume: Volume, out: Path, *, sigma: float = SIGMA, **config: Any
) -> list[int]:
    """Train with a tiny config; the epochs reported as completed."""
    events: list[Progress] = []
    load_workflow(method).train_model(
        parse_config(method, {**TINY[method], **config}),
        [volume],
        out,
        sigma=sigma,
        progress=events.append,
    )
    return [e.epoch for e in events if e.val_loss is not None and e.epoch is not None]


def _resume(
    method: MethodName, volume: Volume, out: Path, *, sigma: float = SIGMA, **config: Any
) -> list[int]:
    """Resume with a tiny config; the epochs reported as completed in this run."""
    events: list[Progress] = []
    manifest = load_workflow(method).train_model(
        parse_config(method, {**TINY[method], **config}),
        [volume],
        out,
        sigma=sigma,
        progress=events.append,
        resume=True,
    )
    assert [r["epoch"] for r in manifest.validation["history"]] == list(range(1, config["epochs"] + 1))
    return [e.epoch for e in events if e.val_loss is not None and e.epoch is not None]


@pytest.mark.parametrize("method", ["n2n", "n2v"])
@pytest.mark.slow
def test_resuming_without_a_checkpoint_is_refused(
    method: MethodName, small_mni_volume: Volume, tmp_path: Path
) -> None:
    """Both methods refuse a resume with nothing to resume, with one message."""
    with pytest.raises(ConfigError) as caught:
        _resume(method, small_mni_volume, tmp_path, epochs=1)
    assert (
        str(caught.value)
        == f"cannot resume: no training checkpoint in {tmp_path}; train without resume to start"
    )


@pytest.mark.slow
@pytest.mark.parametrize("method", ["n2n", "n2v"])
def test_more_epochs_continue_and_nothing_else_may_change(
    method: MethodName, small_mni_volume: Volume, tmp_path: Path
) -> None:
    """1 epoch, then resumed to 2: only epoch 2 runs; a changed lr, fewer epochs or other data are refused."""
    assert _train(method, small_mni_volume, tmp_path, epochs=1) == [1]
    assert _resume(method, small_mni_volume, tmp_path, epochs=2) == [2]
    assert _resume(method, small_mni_volume, tmp_path, epochs=2) == []  # finished: nothing more to do
    with pytest.raises(ConfigError, match=r"its config differs in lr \(only epochs may change\)"):
        _resume(method, small_mni_volume, tmp_path, epochs=3, lr=5e-4)
    with pytest.raises(ConfigError, match="2 epochs are already done, more than the 1 asked for"):
        _resume(method, small_mni_volume, tmp_path, epochs=1)
    with pytest.raises(ConfigError, match="it was trained on other data"):
        _resume(method, small_mni_volume, tmp_path, epochs=3, sigma=SIGMA / 2)
