"""The one rule for continuing a training, the same for every method.

A training checkpoints after every epoch. Continuing it (`resume=True`: the CLI's `--resume`, or a worker
picking up a job whose first worker died) follows four rules:

1. There must be a checkpoint to continue: asking to resume where there is none is an error, never a
   silent fresh start (a fresh start is what `resume=False` is for).
2. The config may differ from the checkpoint's only in `epochs`, and only upwards or equal: more epochs
   continue the same training (with an lr ramp-down, its schedule stretches to the new length from the
   step reached); fewer than those already done is refused.
3. The training data must be the same (their fingerprint is checked).
4. Everything else (weights, optimiser moments, the kept best weights, history, seconds spent) continues
   from the checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.errors import ConfigError
from shared.training.state import TrainingState

RESUMABLE_FIELDS = frozenset({"epochs"})
"""The only config fields a resumed training may change."""


def resume_state(
    checkpoint: TrainingState | None, config: dict[str, Any], data_fingerprint: str, where: Path
) -> TrainingState:
    """The state to continue from, with `config` as the new config; ConfigError when a rule is broken."""
    if checkpoint is None:
        raise ConfigError(f"cannot resume: no training checkpoint in {where}; train without resume to start")
    changed = sorted(
        key
        for key in config.keys() | checkpoint.config.keys()
        if key not in RESUMABLE_FIELDS and config.get(key) != checkpoint.config.get(key)
    )
    if changed:
        raise ConfigError(
            f"cannot resume the training in {where}: its config differs in {', '.join(changed)} "
            "(only epochs may change); train without resume to start over"
        )
    if int(config["epochs"]) < checkpoint.epoch:
        raise ConfigError(
            f"cannot resume the training in {where}: {checkpoint.epoch} epochs are already done, "
            f"more than the {config['epochs']} asked for"
        )
    if checkpoint.data_fingerprint != data_fingerprint:
        raise ConfigError(
            f"cannot resume the training in {where}: it was trained on other data; "
            "train without resume to start over"
        )
    return checkpoint.model_copy(update={"config": config})
