"""The configuration of a Noise2Noise training: every hyper-parameter, with its range (no framework)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from shared.methods.base import MethodConfigBase

CROP_MULTIPLE = 32
"""The U-Net pools five times, so crops are whole multiples of 2**5 (no padding inside a crop)."""


class N2NConfig(MethodConfigBase):
    """Hyper-parameters of a Noise2Noise training; defaults follow Lehtinen et al. (2018)."""

    # From MethodConfigBase: epochs (paper: 150), lr (paper: 1e-4, constant), augment, plane, drop_empty.
    method: Literal["n2n"] = Field(default="n2n", description="Discriminator: this is a Noise2Noise config.")
    batch_size: int = Field(default=4, ge=1, le=512, description="Slices (or crops) per optimisation step.")
    crop_size: int | None = Field(
        default=128,
        ge=CROP_MULTIPLE,
        le=4096,
        description="Side of the random square training crops, a multiple of 32; None (or 0) = whole slices.",
    )
    beta1: float = Field(default=0.9, ge=0.0, lt=1.0, description="Adam beta1 (paper: 0.9).")
    beta2: float = Field(default=0.99, ge=0.0, lt=1.0, description="Adam beta2 (paper: 0.99).")
    eps: float = Field(default=1e-8, gt=0.0, le=1e-2, description="Adam epsilon (paper: 1e-8).")
    rampdown: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Final share of training with a cosine lr ramp-down; 0 = constant.",
    )
    loss: Literal["mse", "l1"] = Field(default="mse", description="Training loss: MSE (paper) or L1.")
    seed: int = Field(
        default=0, ge=0, le=2**32 - 1, description="Seed of weights, split, noise, crops and order."
    )
    steps_per_epoch: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Steps per epoch; None = one pass over the training slices.",
    )
    targets: Literal["noisy", "clean"] = Field(
        default="noisy",
        description="noisy: Noise2Noise (the other noisy copy is the target; for a single scan, a "
        "recorrupted copy of it); clean: Noise2Clean, the supervised upper bound, for synthetic noise on "
        "clean volumes only.",
    )
    context: int = Field(
        default=0,
        ge=0,
        le=4,
        description="Neighbouring slices on each side given to the network as extra input channels (2.5D): "
        "the third dimension of the volume; 0 = 2D slices (the paper).",
    )
    residual: bool = Field(
        default=False,
        description="The network predicts the correction to its input slice (it starts as the identity, "
        "never worse than the input) instead of the slice itself (the paper).",
    )
    recorruption: float = Field(
        default=0.5,
        gt=0.0,
        le=2.0,
        description="Single scans (Recorrupted-to-Recorrupted, Pang et al. 2021): alpha of the pair made "
        "from one noisy scan, y + alpha z -> y - z / alpha, z of the scan's estimated noise level.",
    )
    noise_map: bool = Field(
        default=False,
        description="Give the network the noise level as an extra constant input channel (FFDNet): one "
        "network for every sigma, told the input's. The shipped prior has it; inference supplies the level.",
    )
    start: Literal["scratch", "prior"] = Field(
        default="scratch",
        description="Weights a training starts from: random (scratch) or the shipped pretrained prior, "
        "fine-tuned on the data (its architecture fields must then match the prior's).",
    )
    resample_noise: bool = Field(
        default=False,
        description="Synthetic noise: draw fresh noisy pairs every epoch instead of fixed pairs.",
    )
    amp: bool = Field(default=True, description="bfloat16 mixed precision; used on CUDA only.")
    tile: int = Field(
        default=512,
        ge=64,
        le=8192,
        description="Largest slice side processed in one piece at inference; larger slices go in tiles.",
    )
    tile_overlap: int = Field(
        default=64,
        ge=0,
        le=1024,
        description="Pixels shared by neighbouring inference tiles, blended linearly.",
    )

    @field_validator("crop_size", mode="before")
    @classmethod
    def _zero_means_whole(cls, value: object) -> object:
        """Accept 0 as "whole slices", as the CLI and forms cannot send None."""
        return None if value == 0 else value

    @field_validator("crop_size")
    @classmethod
    def _multiple_of_32(cls, value: int | None) -> int | None:
        """Refuse crops the U-Net would have to pad."""
        if value is not None and value % CROP_MULTIPLE:
            raise ValueError(f"crop_size must be a multiple of {CROP_MULTIPLE}, got {value}")
        return value

    @model_validator(mode="after")
    def _overlap_below_half_tile(self) -> N2NConfig:
        """Overlap must leave each tile some pixels of its own."""
        if self.tile_overlap * 2 >= self.tile:
            raise ValueError(
                f"tile_overlap must be below half the tile ({self.tile}), got {self.tile_overlap}"
            )
        return self
