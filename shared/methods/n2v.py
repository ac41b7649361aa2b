"""The configuration of a Noise2Void training with the n2v package: every hyper-parameter, with its range.

Defaults follow the paper (2D, 64x64 patches, U-Net depth 2 with kernel 3 and 32 first filters, batch
norm, MSE loss, stratified blind spots with n2v's `uniform_withCP` manipulator in a radius of 5, 150
epochs). Plain pydantic, no TensorFlow: the gateway and the CLI validate with it; the translation to n2v's
own config lives in the N2V worker (services/n2v/backend.py). Problems that depend on the data (a patch
larger than the slices) are ConfigErrors raised by training.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from shared.methods.base import Augment, LearningRate, MethodConfigBase

Manipulator = Literal[
    "uniform_withCP",
    "uniform_withoutCP",
    "normal_withoutCP",
    "normal_additive",
    "normal_fitted",
    "identity",
    "mean",
    "median",
]
# n2v 0.3.3 evaluates `structN2Vmask or default` in these, which fails on an array mask.
_MASK_INCOMPATIBLE = {"uniform_withoutCP", "mean", "median"}

MAX_DEFAULT_STEPS = 400
"""Cap of the derived steps_per_epoch (n2v's own default number of steps per epoch)."""


class N2VConfig(MethodConfigBase):
    """Hyper-parameters of one Noise2Void training (n2v 0.3.3 on TensorFlow)."""

    # From MethodConfigBase: epochs (the paper: 150), plane, drop_empty; lr and augment with N2V's defaults.
    method: Literal["n2v"] = Field(default="n2v", description="Discriminator: this is an N2V config.")
    steps_per_epoch: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description=f"Batches per epoch; None: enough to see every training patch once, at most "
        f"{MAX_DEFAULT_STEPS}.",
    )
    batch_size: int = Field(default=16, ge=1, le=1024, description="Patches per batch (n2v's default, 16).")
    patch_size: int = Field(
        default=64, ge=8, le=512, description="Side of the square (2D) or cubic (3D) training patches."
    )
    dims: Literal[2, 3] = Field(default=2, description="2: slices along `plane`; 3: ZYX patches.")
    n2v2: bool = Field(
        default=False,
        description="N2V2: blur-pool, no top skip connection, and the median manipulator unless one is set.",
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed of initialisation and sampling.")
    lr: LearningRate = 4e-4  # n2v's default
    rampdown: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Final share of training with a cosine lr ramp-down to 0 (as N2N's); it replaces "
        "n2v's halving of the lr on validation plateaus. 0 = n2v's plateau schedule.",
    )
    loss: Literal["mse", "mae"] = Field(default="mse", description="Loss on the blind spots (paper: MSE).")
    unet_kern_size: int = Field(
        default=3, ge=3, le=7, description="Odd convolution kernel size (n2v tiles 3, 5 or 7)."
    )
    unet_n_depth: int = Field(default=2, ge=1, le=5, description="Resolution levels of the U-Net.")
    unet_n_first: int = Field(default=32, ge=4, le=256, description="Filters of the first U-Net level.")
    batch_norm: bool = Field(default=True, description="Batch normalisation in the U-Net.")
    n2v_perc_pix: float = Field(
        default=1.5,
        gt=0.0,
        le=100.0,
        description="Percent of pixels of a patch made blind spots (n2v's own default and the N2V paper's "
        "64 per 64x64 patch; n2v's example notebooks use 0.198, which learns several dB slower at short budgets).",
    )
    n2v_manipulator: Manipulator = Field(
        default="uniform_withCP", description="How a blind spot's value is replaced (n2v's names)."
    )
    n2v_neighborhood_radius: int = Field(
        default=5, ge=1, le=32, description="Radius of the neighbourhood the replacement comes from."
    )
    struct_n2v_mask: list[list[int]] | None = Field(
        default=None,
        description="structN2V: odd-sized 0/1 mask of pixels hidden around each blind spot (YX; "
        "applied in-plane for 3D).",
    )
    augment: Augment = True
    tensorboard: bool = Field(default=False, description="Let n2v write TensorBoard logs to logs/.")

    @model_validator(mode="after")
    def _check_combinations(self) -> N2VConfig:
        """Refuse combinations n2v would reject late, or crash on."""
        div = 2**self.unet_n_depth
        if self.patch_size % div:
            raise ValueError(f"patch_size {self.patch_size} must be divisible by 2**unet_n_depth = {div}")
        if self.n2v2 and self.dims == 3:
            raise ValueError("n2v2 (blur-pool) is 2D only in n2v 0.3.3; use dims=2 or n2v2=false")
        if self.unet_kern_size % 2 == 0:
            raise ValueError(f"unet_kern_size must be odd, got {self.unet_kern_size}")
        if int(self.patch_size**self.dims / 100.0 * self.n2v_perc_pix) < 1:
            raise ValueError(
                f"n2v_perc_pix {self.n2v_perc_pix} gives no blind spot in a {self.patch_size}^{self.dims} "
                f"patch; use at least {100.0 / self.patch_size**self.dims:.4g}"
            )
        if self.struct_n2v_mask is not None:
            mask = self.struct_n2v_mask
            if not mask or any(len(row) != len(mask[0]) for row in mask):
                raise ValueError("struct_n2v_mask must be a non-empty rectangular list of rows")
            if len(mask) % 2 == 0 or len(mask[0]) % 2 == 0:
                raise ValueError(
                    f"struct_n2v_mask must have odd sides (its centre is the blind spot), got "
                    f"{len(mask)}x{len(mask[0])}"
                )
            if any(v not in (0, 1) for row in mask for v in row):
                raise ValueError("struct_n2v_mask may only hold 0 (visible) and 1 (hidden)")
            if self.manipulator in _MASK_INCOMPATIBLE:
                raise ValueError(
                    f"struct_n2v_mask cannot be used with the {self.manipulator!r} manipulator "
                    "(n2v 0.3.3 fails on it); set n2v_manipulator to 'uniform_withCP'"
                )
        return self

    @property
    def manipulator(self) -> str:
        """The manipulator actually used: N2V2 means 'median' unless one was chosen explicitly."""
        if self.n2v2 and "n2v_manipulator" not in self.model_fields_set:
            return "median"
        return self.n2v_manipulator

    def patch_shape(self) -> tuple[int, ...]:
        """Training patch shape, YX or ZYX."""
        return (self.patch_size,) * self.dims

    def most_steps_per_epoch(self, training_slices: int) -> int:
        """steps_per_epoch, or the most its derivation can give (MAX_DEFAULT_STEPS), whatever the data."""
        return self.steps_per_epoch if self.steps_per_epoch is not None else MAX_DEFAULT_STEPS

    def resolved_steps(self, n_patches: int) -> int:
        """steps_per_epoch, or enough batches to see each of `n_patches` once, capped."""
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return max(1, min(MAX_DEFAULT_STEPS, math.ceil(n_patches / self.batch_size)))
