"""The schema of a benchmark's JSON output: every figure, the protocol, the split, seeds and versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from benchmarks.budget import Budget
from shared.slices import DatasetSplit

MethodKey = Literal[
    "noisy",
    "bm3d",
    "bm3d_est",
    "bm4d",
    "bm4d_est",
    "nlmeans",
    "nlmeans_classic",
    "n2v",
    "n2n",
    "n2n_eq3",
    "n2c",
    "n2v_fit",
    "n2n_fit",
    "n2n_pair_fit",
]
RowStatus = Literal["ok", "not installed", "not run", "failed"]


class Row(BaseModel):
    """One method's scores at one sigma (means of per-slice values on the data range 1.0)."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    method: MethodKey = Field(description="Machine key of the method.")
    label: str = Field(description="What the table calls it.")
    status: RowStatus = Field(
        description="'ok', 'not installed' (optional baseline missing), 'not run' (left out) or 'failed'."
    )
    note: str = Field(default="", description="Caveats: extra information used, why it failed.")
    psnr: float | None = Field(default=None, description="Mean per-slice PSNR in dB.")
    rmse: float | None = Field(default=None, ge=0, description="Mean per-slice RMSE on the [0, 1] scale.")
    ssim: float | None = Field(default=None, le=1.0, description="Mean per-slice SSIM.")
    psnr_per_slice: list[float] = Field(default_factory=list, description="PSNR of each test slice, dB.")
    n_test_slices: int = Field(ge=0, description="Test slices scored.")
    train_steps: int = Field(ge=0, description="Optimiser steps taken (0: nothing learned).")
    train_seconds: float = Field(ge=0, description="Wall-clock training time, seconds.")
    infer_seconds: float | None = Field(
        default=None,
        ge=0,
        description="Wall-clock denoising time, seconds, with any noise estimate the method made "
        "(results before this field: absent).",
    )
    infer_slices: int | None = Field(
        default=None,
        ge=0,
        description="Sagittal slices infer_seconds covers: the test slices for 2D methods, all of the "
        "volume's for 3D ones.",
    )
    infer_seconds_per_slice: float | None = Field(
        default=None, ge=0, description="infer_seconds / infer_slices: wall-clock seconds per slice."
    )
    scope: Literal["test slices", "whole volume"] | None = Field(
        default=None, description="What the method denoised: each test slice (2D) or the whole volume (3D)."
    )
    sigma_given: float | None = Field(
        default=None,
        ge=0,
        description="Noise sigma (0-255 scale) the method was told, true or estimated; None: none given.",
    )
    settings: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="The method's parameters as it ran (classical rows)."
    )
    estimates: dict[str, float | None] = Field(
        default_factory=dict,
        description="Learned rows: the noise sigma, SURE RMSE and pair RMSE estimated without the clean "
        "reference, next to the true figures (benchmarks/estimates.py).",
    )


class SigmaResult(BaseModel):
    """All rows at one noise level."""

    model_config = ConfigDict(extra="forbid")

    sigma: float = Field(description="Noise standard deviation on the 0-255 scale of the [0, 1] range.")
    test_noise_seed: int = Field(description="Seed the two test noisy copies were drawn from.")
    test_noise_scope: Literal["test slices", "whole volume"] = Field(
        default="test slices",
        description="What the seeded test noise was drawn over: the whole normalised volume, or (results "
        "written before it was recorded) the stacked test slices only. Figures of the two differ by the "
        "noise realisation.",
    )
    train_seed: int = Field(description="Seed of every learned method's training (noise, patches, init).")
    rows: list[Row] = Field(description="One row per method, in table order.")
    noise_estimates: dict[str, float | None] = Field(
        default_factory=dict,
        description="The noise sigma (0-255 scale) estimated from the noisy volume without the truth: with "
        "this Gaussian noise, and with Rician noise of the same sigma drawn for the check.",
    )
    curves: dict[str, list[dict[str, float]]] = Field(
        default_factory=dict,
        description="Fit rows with a curve budget: after every epoch, the training seconds so far and the "
        "test slices' mean PSNR (dB) with the weights kept then.",
    )
    targets: dict[str, Any] = Field(default_factory=dict, description="The issue's targets, checked.")


class BenchmarkResult(BaseModel):
    """Everything one benchmark run measured, and how."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Run name; the output files are <name>.json/.md/.png.")
    created: datetime = Field(description="UTC time the run finished.")
    command: str = Field(description="The command line that produced it.")
    budget: Budget = Field(description="Training budget, the same for every learned method.")
    protocol: dict[str, Any] = Field(description="Normalisation, noise, metric definitions, aggregation.")
    data: dict[str, Any] = Field(description="The data set and its shapes.")
    split: DatasetSplit = Field(description="Which slices went to train, validation and test.")
    sigmas: list[SigmaResult] = Field(description="Results per noise level.")
    figure_slice: int = Field(description="Index (within the test slices) of the slice in the figure.")
    versions: dict[str, str] = Field(description="Python and package versions.")
    machine: dict[str, Any] = Field(description="CPU, cores, GPU.")
    total_seconds: float = Field(ge=0, description="Wall-clock time of the whole run.")
