"""What every method's config declares the same way: the fields that mean one thing in every method.

A field belongs here only when its type, bounds and meaning are the same for every method; its default may
differ. A method whose default differs re-declares the field with the same type alias and its own default
(`lr: LearningRate = 4e-4`), so type, bounds and description stay written once, here. Fields whose bounds
or meaning differ between the methods stay in each method's config (e.g. `seed`, `steps_per_epoch`,
`batch_size`, `loss`, `rampdown`).
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.slices import PlaneSetting

Epochs = Annotated[
    int, Field(ge=1, le=10_000, description="Passes over the training data (the papers: 150).")
]
LearningRate = Annotated[float, Field(gt=0.0, le=1.0, description="Adam learning rate.")]
Augment = Annotated[
    bool,
    Field(description="Random in-plane flips and 90-degree rotations of each training crop or patch."),
]
Plane = Annotated[
    PlaneSetting,
    Field(
        description="Plane of the 2D slices: 'acquisition' (the plane the slices were acquired in: a DICOM "
        "series' slices, or the thick-slice axis of a NIfTI; the paper's sagittal for its data) or an "
        "anatomical plane."
    ),
]
DropEmpty = Annotated[
    bool,
    Field(
        description="Leave background-only slices (or 3D patches) out of the training data and the slices "
        "held out from it."
    ),
]


class MethodConfigBase(BaseModel):
    """The fields every method's config shares; each method subclasses it and adds its own fields."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field(description="Discriminator: the method this config is for.")
    """Each method narrows it to its name, `method: Literal["<name>"] = Field(default="<name>", ...)`, which
    makes the configs one discriminated union (shared.methods.MethodConfig)."""
    epochs: Epochs = 150
    lr: LearningRate = 1e-4
    augment: Augment = False
    plane: Plane = "acquisition"
    drop_empty: DropEmpty = True

    def most_steps_per_epoch(self, training_slices: int) -> int:
        """The most optimiser steps an epoch takes on `training_slices` 2D slices (a bound for training
        budgets): `steps_per_epoch` when the config sets one, else one pass over the slices in batches. A
        method whose derivation differs overrides it."""
        steps: int | None = getattr(self, "steps_per_epoch", None)
        if steps is not None:
            return steps
        return max(1, math.ceil(training_slices / int(getattr(self, "batch_size", 1))))
