"""The one resume rule (shared.training.resume): what may change when a training continues."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.training.resume import resume_state
from shared.training.state import EpochRecord, TrainingState

WHERE = Path("/models/run")


def _done(epochs: int, config: dict[str, object]) -> TrainingState:
    """A checkpoint after `epochs` epochs of a training with `config` on data 'abc'."""
    state = TrainingState.start(dict(config), "abc")
    for epoch in range(1, epochs + 1):
        record = EpochRecord(epoch=epoch, loss=1.0, val_loss=1.0 / epoch, lr=1e-3, seconds=float(epoch))
        state = state.after_epoch(record)
    return state


def test_no_checkpoint_is_an_error_not_a_fresh_start() -> None:
    """Asking to resume where nothing was checkpointed says so."""
    with pytest.raises(ConfigError) as caught:
        resume_state(None, {"epochs": 3}, "abc", WHERE)
    assert str(caught.value) == (
        "cannot resume: no training checkpoint in /models/run; train without resume to start"
    )


def test_more_epochs_continue_with_the_new_config() -> None:
    """Only epochs may change; the state continues with everything it had."""
    done = _done(2, {"epochs": 2, "lr": 1e-3})
    resumed = resume_state(done, {"epochs": 5, "lr": 1e-3}, "abc", WHERE)
    assert resumed.config == {"epochs": 5, "lr": 1e-3}
    assert (resumed.epoch, resumed.best_epoch, len(resumed.history)) == (2, 2, 2)


def test_fewer_epochs_than_done_are_refused() -> None:
    """A checkpoint past the asked-for end cannot be wound back."""
    with pytest.raises(ConfigError, match="3 epochs are already done, more than the 2 asked for"):
        resume_state(_done(3, {"epochs": 3}), {"epochs": 2}, "abc", WHERE)


def test_any_other_change_is_refused_naming_the_fields() -> None:
    """A changed hyper-parameter would make another training; every changed field is named."""
    with pytest.raises(ConfigError) as caught:
        resume_state(
            _done(1, {"epochs": 2, "lr": 1e-3, "seed": 0}), {"epochs": 2, "lr": 1e-4, "seed": 1}, "abc", WHERE
        )
    assert str(caught.value) == (
        "cannot resume the training in /models/run: its config differs in lr, seed (only epochs may change); "
        "train without resume to start over"
    )


def test_other_training_data_are_refused() -> None:
    """The data fingerprint must match."""
    with pytest.raises(ConfigError, match="it was trained on other data"):
        resume_state(_done(1, {"epochs": 2}), {"epochs": 2}, "xyz", WHERE)
