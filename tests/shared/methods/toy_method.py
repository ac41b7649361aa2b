"""A toy third method, declared as a newcomer would (docs/adding-a-method.md): its config, its workflow, its
worker's tasks and its registry entry, all in one module so a test can register it for a while.

It "trains" by writing a manifest and "denoises" with a box filter of the config's size: no framework, so the
test that drives it through the CLI and the API stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field
from scipy.ndimage import uniform_filter

from shared.manifest import ModelManifest, read_manifest, write_manifest
from shared.methods.base import MethodConfigBase
from shared.methods.inference import InferenceOptions
from shared.methods.registry import MethodSpec
from shared.methods.workflow import MethodWorkflow, TrainingSet
from shared.progress import Progress, ProgressCallback
from shared.volume import Volume


class ToyConfig(MethodConfigBase):
    """A box filter's side, as the one hyper-parameter of the toy method."""

    method: Literal["toy"] = Field(default="toy", description="Discriminator: this is a toy config.")
    size: int = Field(default=3, ge=1, le=15, description="Side of the box filter, in voxels.")


class ToyWorkflow(MethodWorkflow):
    """Fits in no time (a manifest) and denoises with a box filter."""

    method = "toy"

    def train_volumes(
        self,
        config: MethodConfigBase,
        data: TrainingSet,
        out_dir: Path,
        *,
        progress: ProgressCallback,
        resume: bool,
    ) -> ModelManifest:
        out_dir.mkdir(parents=True, exist_ok=True)
        progress(Progress(stage="training", epoch=1, epochs=1, fraction=1.0))
        return write_manifest(
            out_dir,
            method="toy",
            framework="numpy",
            config=config.model_dump(mode="json"),
            data={},
            validation={},
            files=[],
        )

    def predict(
        self,
        volumes: list[Volume],
        model_dir: Path,
        *,
        second_acquisitions: list[Volume] | None,
        progress: ProgressCallback,
        options: InferenceOptions | None = None,
    ) -> list[np.ndarray]:
        size = int(read_manifest(model_dir, verify=False).config["size"])
        return [uniform_filter(volume.data, size=size).astype(np.float32) for volume in volumes]

    def has_checkpoint(self, out_dir: Path) -> bool:
        return False


workflow = ToyWorkflow()

TOY = MethodSpec(
    name="toy",
    config=ToyConfig,
    workflow_module=__name__,
    tasks_module="tests.shared.methods.toy_tasks",
    label="Toy (toy): a box filter",
    fit_defaults={"epochs": 1},
)
"""The one registry line of the toy method."""
