"""How much training each learned method gets: the tiny, quick and paper budgets.

Every learned method (N2V, N2N, N2C) gets the same number of optimiser steps on batches of the same
size and patch size, so the comparison is about the method, not about who trained longer.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

BudgetName = Literal["tiny", "quick", "paper", "curve", "custom"]


class Budget(BaseModel):
    """Data size and training budget of one benchmark run, the same for every learned method."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: BudgetName = Field(description="Which preset this is ('custom': none of them).")
    downsample: int = Field(ge=1, le=4, description="Keep every n-th voxel of the 1 mm template per axis.")
    epochs: int = Field(ge=1, le=1000, description="Training epochs of each learned method.")
    steps_per_epoch: int = Field(ge=1, le=10_000, description="Optimiser steps per epoch.")
    batch_size: int = Field(ge=1, le=512, description="Patches per optimiser step.")
    patch_size: int = Field(ge=16, le=512, description="Side of the square training patches (pixels).")
    lr: float = Field(gt=0, le=1.0, description="Adam learning rate of every learned method.")
    rampdown: float = Field(
        ge=0.0,
        le=1.0,
        description="Final share of steps with a cosine lr ramp-down to 0, for N2N, N2C and N2V alike.",
    )
    n2v_perc_pix: float | None = Field(
        default=None,
        gt=0.0,
        le=100.0,
        description="N2V: percent of each patch's pixels made blind spots; None: the service's default.",
    )
    n2v_batch_norm: bool = Field(
        default=True,
        description="N2V: batch normalisation in n2v's U-Net (the paper's setting); see N2V_BATCH_NORM_SHORT.",
    )
    n2v_unet_depth: int = Field(
        default=2, ge=1, le=4, description="N2V: resolution levels of n2v's U-Net (n2v's default, 2)."
    )
    max_test_slices: int | None = Field(
        default=None, ge=1, description="Score at most this many test slices (evenly spaced); None: all."
    )
    n2n_fit_params: dict[str, Any] = Field(
        default_factory=dict,
        description="N2N fit rows: config fields over the service's fit defaults (what `denoise --fit` does), "
        "e.g. a longer budget for the curve, or a lever to measure.",
    )
    n2v_fit_params: dict[str, Any] = Field(
        default_factory=dict, description="N2V fit row: config fields over the service's fit defaults."
    )
    curve: bool = Field(
        default=False,
        description="Fit rows: score the test slices after every epoch, for the time-to-quality curve.",
    )

    @property
    def steps(self) -> int:
        """Optimiser steps each learned method takes."""
        return self.epochs * self.steps_per_epoch


N2V_PERC_PIX = 1.5
"""Blind spots per patch, percent: the N2V paper's 64 of 64x64 and n2v's own default. n2v's example
notebooks use 0.198% (8 pixels), about 8x fewer supervised pixels per step: too few for a budget of a
few hundred steps. The fit-on-the-volume defaults (services.n2v.config.FIT_DEFAULTS) use 1.5% too."""

N2V_BATCH_NORM_SHORT = False
"""Batch norm for N2V in the short budgets. In a training of a few hundred steps the running statistics
that batch norm uses at inference (Keras momentum 0.99, ~100 steps of memory) trail the fast-moving
weights: at sigma 20 after 400 steps the denoised tissue came out 0.06 too dark on the [0, 1] scale, and
N2V scored 27.6 dB with batch norm against 29.8 dB without it (30.4 dB with the lr ramp-down as well;
benchmarks/results/README.md). The paper budget keeps the paper's batch norm."""

# About 30 minutes on a 2-core CPU for the noisy, BM3D and learned rows at both sigmas. The 3D rows cost more at
# this size (estimates from the 3 mm and 2 mm volumes, benchmarks/block_matching.py): BM4D about 10-20 minutes
# and ~9 GB of memory per row and sigma, DIPY's classic non-local means about 5-12 minutes per sigma;
# `--methods` leaves rows out. The fit rows take the service's fit defaults (what `denoise --fit` does).
QUICK = Budget(
    name="quick",
    downsample=1,
    epochs=4,
    steps_per_epoch=100,
    batch_size=8,
    patch_size=64,
    lr=1e-3,
    rampdown=0.3,
    n2v_perc_pix=N2V_PERC_PIX,
    n2v_batch_norm=N2V_BATCH_NORM_SHORT,
)

BUDGETS: dict[str, Budget] = {
    # Seconds on 2 CPU cores: checks that the pipeline runs end to end, not what the methods can do.
    "tiny": QUICK.model_copy(
        update={
            "name": "tiny",
            "downsample": 3,
            "epochs": 1,
            "steps_per_epoch": 4,
            "batch_size": 4,
            "patch_size": 32,
            "rampdown": 0.0,
            "max_test_slices": 3,
            "n2n_fit_params": {"epochs": 1, "steps_per_epoch": 4, "batch_size": 4, "crop_size": 32},
            "n2v_fit_params": {"epochs": 1, "steps_per_epoch": 4, "batch_size": 4, "patch_size": 32},
            "curve": True,
        }
    ),
    "quick": QUICK,
    # The time-to-quality curve: the quick rows, and fits scored after every epoch of one long training
    # (about 30 minutes each on a 2-core CPU).
    "curve": QUICK.model_copy(
        update={
            "name": "curve",
            "n2n_fit_params": {"epochs": 36, "steps_per_epoch": 100},
            "n2v_fit_params": {"epochs": 72, "steps_per_epoch": 100},
            "curve": True,
        }
    ),
    # The paper's 150 epochs; meant for a GPU.
    "paper": Budget(
        name="paper",
        downsample=1,
        epochs=150,
        steps_per_epoch=100,
        batch_size=16,
        patch_size=64,
        lr=4e-4,
        rampdown=0.3,
        n2v_perc_pix=N2V_PERC_PIX,
    ),
}


def get_budget(name: BudgetName) -> Budget:
    """The preset budget called `name`."""
    if name not in BUDGETS:
        raise ValueError(f"no preset budget {name!r}; choose one of {', '.join(BUDGETS)}")
    return BUDGETS[name]
