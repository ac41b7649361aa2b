"""The N2N use cases over volumes (shared.methods.workflow.MethodWorkflow): what the CLI and the tasks call.

Training chooses its pairs from what the caller has: clean volumes + sigma (the paper's protocol), pairs of
noisy acquisitions (or a series of repetitions), or single noisy scans, each paired with recorrupted copies
of itself (Recorrupted-to-Recorrupted). A fit on the volume to denoise trains on whichever it is given; with
a second acquisition the result is the mean of the predictions on both (the paper's Eq. 3). PyTorch is
imported inside the methods only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.errors import ConfigError
from shared.manifest import ModelManifest
from shared.methods import AnyConfig, require_config
from shared.methods.inference import InferenceOptions
from shared.methods.n2n import N2NConfig
from shared.methods.workflow import MethodWorkflow, TrainingSet
from shared.progress import ProgressCallback, share_of
from shared.volume import Volume


class N2NWorkflow(MethodWorkflow):
    """Noise2Noise with the reference U-Net in PyTorch."""

    method = "n2n"

    def has_checkpoint(self, out_dir: Path) -> bool:
        from services.n2n.checkpoint import has_checkpoint

        return has_checkpoint(out_dir)

    def train_volumes(
        self, config: AnyConfig, data: TrainingSet, out_dir: Path, *, progress: ProgressCallback, resume: bool
    ) -> ModelManifest:
        """Train from clean `inputs` + `sigma` (the paper's protocol), from (inputs, second acquisitions), or
        from single noisy scans by recorruption."""
        from services.n2n.data import from_clean, from_pairs, from_single
        from services.n2n.train import train

        n2n = require_config(config, N2NConfig)
        if data.sigma is not None and data.second_acquisitions:
            raise ConfigError("give either sigma (clean inputs) or second acquisitions, not both")
        if data.sigma is not None:
            pairs = from_clean(data.inputs, data.sigma, n2n, data.noise)
        elif data.second_acquisitions:
            pairs = from_pairs(data.inputs, data.second_acquisitions, n2n)
        else:
            pairs = from_single(data.inputs, n2n)
        return train(n2n, pairs, out_dir, progress=progress, resume=resume)

    def predict(
        self,
        volumes: list[Volume],
        model_dir: Path,
        *,
        second_acquisitions: list[Volume] | None,
        progress: ProgressCallback,
        options: InferenceOptions | None = None,
    ) -> list[np.ndarray]:
        from services.n2n.predict import denoise, load_model

        model = load_model(model_dir)
        return [
            denoise(
                volume,
                model,
                second=second_acquisitions[i] if second_acquisitions is not None else None,
                progress=share_of(progress, i, len(volumes)),
                options=options,
            ).data
            for i, volume in enumerate(volumes)
        ]


workflow = N2NWorkflow()
