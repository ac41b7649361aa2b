"""The progress report every long-running core function emits, for the CLI's bar and a job's status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Stage = Literal["queued", "loading", "training", "predicting", "assessing", "metrics", "writing", "done"]


class Progress(BaseModel):
    """One progress event: where a job is and how far along it is."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    stage: Stage = Field(description="What the job is doing now.")
    fraction: float = Field(ge=0.0, le=1.0, description="Share of the whole stage done, 0 to 1.")
    epoch: int | None = Field(default=None, description="Epochs completed (training).")
    epochs: int | None = Field(default=None, description="Epochs planned (training).")
    step: int | None = Field(default=None, description="Steps or slices done in the current unit.")
    steps: int | None = Field(default=None, description="Steps or slices in the current unit.")
    loss: float | None = Field(default=None, description="Mean training loss of the last epoch.")
    val_loss: float | None = Field(default=None, description="Validation loss of the last epoch.")
    val_psnr: float | None = Field(default=None, description="Validation PSNR in dB, with clean data.")
    val_rmse: float | None = Field(default=None, description="Validation RMSE, with clean data.")
    seconds: float | None = Field(default=None, description="Seconds spent in this stage so far.")


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_: Progress) -> None:
    """A progress callback that discards every event."""


def share_of(progress: ProgressCallback, index: int, count: int) -> ProgressCallback:
    """A callback for part `index` of `count` equal parts of a stage (e.g. one volume of a series):
    its events reach `progress` with the fraction of the whole stage."""
    if count == 1:
        return progress

    def report(event: Progress) -> None:
        progress(event.model_copy(update={"fraction": (index + event.fraction) / count}))

    return report
