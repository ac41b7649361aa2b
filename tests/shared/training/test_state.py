"""The training state both trainers checkpoint, and the validation summary their manifests share."""

from __future__ import annotations

import math

import pytest

from shared.errors import JobError
from shared.training.state import EpochRecord, TrainingState, validation_summary


def _record(epoch: int, val_loss: float | None) -> EpochRecord:
    return EpochRecord(
        epoch=epoch, loss=0.5, val_loss=val_loss, val_psnr=20.0 + epoch, lr=1e-3, seconds=epoch
    )


def test_the_kept_epoch_is_the_lowest_finite_validation_loss() -> None:
    """Weights move to an epoch only when its validation loss is finite and strictly lower."""
    state = TrainingState.start({"epochs": 4}, "abc")
    for epoch, loss in ((1, 0.3), (2, math.nan), (3, 0.2), (4, 0.2)):
        state = state.after_epoch(_record(epoch, loss))
    assert (state.epoch, state.best_epoch, state.best_val_loss, state.seconds) == (4, 3, 0.2, 4.0)


def test_backend_counters_are_kept_for_the_framework() -> None:
    """A method's own resume counters travel in the state, latest value wins."""
    state = (
        TrainingState.start({}, "abc")
        .after_epoch(_record(1, 0.3), wait=1.0)
        .after_epoch(_record(2, 0.4), wait=2.0)
    )
    assert state.backend == {"wait": 2.0}


def test_the_summary_reports_the_kept_epoch_and_the_baseline() -> None:
    """The manifest shows the kept epoch's metrics, the noisy input's, and the whole history."""
    state = TrainingState.start({}, "abc").after_epoch(_record(1, 0.3)).after_epoch(_record(2, 0.4))
    summary = validation_summary(state, criterion="lowest loss", baseline={"input_psnr": 18.0})
    assert (summary["best_epoch"], summary["val_psnr"], summary["input_psnr"]) == (1, 21.0, 18.0)
    assert [r["epoch"] for r in summary["history"]] == [1, 2]


def test_a_training_that_never_validated_finitely_diverged() -> None:
    """No finite validation loss means no model to keep."""
    state = TrainingState.start({}, "abc").after_epoch(_record(1, math.inf))
    with pytest.raises(JobError, match="training diverged"):
        validation_summary(state, criterion="lowest loss", baseline={})
