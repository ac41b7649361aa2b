"""The N2V use cases over volumes (shared.methods.workflow.MethodWorkflow): what the CLI and the tasks call.

N2V needs nothing but noisy volumes; a fit on the volume to denoise trains on that volume alone (a tenth of
its slices, or 3D patches, held out to pick the best epoch). TensorFlow is imported inside the methods only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.errors import ConfigError
from shared.manifest import ModelManifest
from shared.methods import AnyConfig, require_config
from shared.methods.inference import InferenceOptions
from shared.methods.n2v import N2VConfig
from shared.methods.workflow import MethodWorkflow, TrainingSet
from shared.progress import ProgressCallback, share_of
from shared.volume import Volume

ONLY_N2N_PAIRS = "a second acquisition is only used by n2n; n2v trains on and denoises single noisy volumes"


class N2VWorkflow(MethodWorkflow):
    """Noise2Void with the n2v package on TensorFlow."""

    method = "n2v"

    def has_checkpoint(self, out_dir: Path) -> bool:
        from services.n2v.checkpoint import has_checkpoint

        return has_checkpoint(out_dir)

    def train_volumes(
        self, config: AnyConfig, data: TrainingSet, out_dir: Path, *, progress: ProgressCallback, resume: bool
    ) -> ModelManifest:
        """Train on noisy `inputs`, or on clean `inputs` + `sigma` (clean used for validation only)."""
        from services.n2v.noisy import noisy_from_clean
        from services.n2v.train import train

        n2v = require_config(config, N2VConfig)
        if data.second_acquisitions:
            raise ConfigError(ONLY_N2N_PAIRS)
        if data.sigma is None:
            return train(n2v, data.inputs, out_dir, progress=progress, resume=resume)
        noisy = noisy_from_clean(data.inputs, data.sigma, n2v.seed, data.noise)
        return train(
            n2v,
            noisy,
            out_dir,
            clean=data.inputs,
            progress=progress,
            resume=resume,
            data_info={"sigma": data.sigma},
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
        from services.n2v.predict import denoise, load_model

        if second_acquisitions is not None:
            raise ConfigError(ONLY_N2N_PAIRS)
        if options is not None and options != InferenceOptions():
            raise ConfigError("noise_sigma and planes apply to n2n models only; n2v takes neither")
        model = load_model(model_dir)
        return [
            denoise(volume, model, progress=share_of(progress, i, len(volumes))).data
            for i, volume in enumerate(volumes)
        ]


workflow = N2VWorkflow()
