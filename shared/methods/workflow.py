"""What every method's service offers the CLI and the worker shells: train, denoise (fitting first if asked).

A method implements `MethodWorkflow` in `services/<method>/workflow.py` as a subclass whose methods import
their framework only when called, so the module itself imports fast and framework-free (the Celery prefork
parent never holds TensorFlow or CUDA state). Callers find the instance with `load_workflow(method)`.
The flow of a denoise call (a registered model, or a fit on the input first) is written here once.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, cast

from shared.manifest import ModelManifest
from shared.methods import AnyConfig, MethodName, fit_config
from shared.noise import NoiseKind
from shared.progress import ProgressCallback, ignore_progress
from shared.volume import Volume

WORKFLOW_MODULES: dict[MethodName, str] = {"n2n": "services.n2n.workflow", "n2v": "services.n2v.workflow"}
"""Where each method's `workflow` instance lives."""


class MethodWorkflow(ABC):
    """Train a model, denoise a volume with one (or fit one on it first), and tell whether to resume."""

    method: ClassVar[MethodName]

    @abstractmethod
    def train_model(
        self,
        config: AnyConfig,
        inputs: list[Volume],
        out_dir: Path,
        *,
        sigma: float | None = None,
        second_acquisitions: list[Volume] | None = None,
        noise: NoiseKind = "gaussian",
        progress: ProgressCallback = ignore_progress,
        resume: bool = False,
    ) -> ModelManifest:
        """Train from noisy volumes, clean volumes + a synthetic sigma, or pairs of acquisitions."""

    @abstractmethod
    def predict(
        self, volume: Volume, model_dir: Path, *, second: Volume | None, progress: ProgressCallback
    ) -> Volume:
        """Denoise `volume` with the model in `model_dir` (with `second`, if the method uses one)."""

    @abstractmethod
    def has_checkpoint(self, out_dir: Path) -> bool:
        """Whether `out_dir` holds a training checkpoint that `resume=True` continues."""

    def fit(
        self,
        volume: Volume,
        second: Volume | None,
        config: AnyConfig,
        work_dir: Path,
        *,
        progress: ProgressCallback,
        resume: bool,
    ) -> None:
        """Train a model on the volume to denoise (and its second acquisition, if any) into `work_dir`."""
        self.train_model(
            config,
            [volume],
            work_dir,
            second_acquisitions=[second] if second is not None else None,
            progress=progress,
            resume=resume,
        )

    def denoise_volume(
        self,
        volume: Volume,
        *,
        model_dir: Path | None = None,
        second: Volume | None = None,
        config: AnyConfig | None = None,
        work_dir: Path | None = None,
        progress: ProgressCallback = ignore_progress,
        resume: bool = False,
    ) -> Volume:
        """Denoise with the model in `model_dir`, or fit one on the input in `work_dir` first.

        A fit uses `config`, or the method's fit defaults (shared.methods.FIT_DEFAULTS); with `resume` it
        continues the checkpoint a killed fit left in `work_dir`.
        """
        if model_dir is None:
            if work_dir is None:
                raise ValueError("work_dir is needed to fit on the volume")
            self.fit(
                volume,
                second,
                config or fit_config(self.method, {}),
                work_dir,
                progress=progress,
                resume=resume,
            )
            model_dir = work_dir
        return self.predict(volume, model_dir, second=second, progress=progress)


def load_workflow(method: MethodName) -> MethodWorkflow:
    """The workflow of `method` (imports its service module, but not its framework)."""
    return cast(MethodWorkflow, importlib.import_module(WORKFLOW_MODULES[method]).workflow)
