"""The N2N use cases as plain functions over volumes: what the CLI and the Celery tasks both call.

They choose the training mode from what the caller has (clean volumes + sigma, or pairs of noisy
acquisitions) and refuse what N2N cannot do (a single noisy volume with nothing else is N2V's case).
"""

from __future__ import annotations

from pathlib import Path

from services.n2n.config import N2NConfig
from shared.errors import ConfigError
from shared.manifest import ModelManifest
from shared.noise import NoiseKind
from shared.progress import ProgressCallback, ignore_progress
from shared.volume import Volume

NEEDS_PAIRS = (
    "n2n trains on pairs: give clean volumes with a sigma (synthetic pairs) or a second noisy acquisition "
    "of each volume; a single noisy volume with nothing else is n2v's case"
)


def train_model(
    config: N2NConfig,
    inputs: list[Volume],
    out_dir: Path,
    *,
    sigma: float | None = None,
    seconds: list[Volume] | None = None,
    noise: NoiseKind = "gaussian",
    progress: ProgressCallback = ignore_progress,
    resume: bool = False,
) -> ModelManifest:
    """Train from clean `inputs` + `sigma` (the paper's protocol) or from (`inputs`, `seconds`) noisy pairs."""
    from services.n2n.data import from_clean, from_pairs
    from services.n2n.train import train

    if sigma is not None and seconds:
        raise ConfigError("give either sigma (clean inputs) or second acquisitions, not both")
    if sigma is not None:
        data = from_clean(inputs, sigma, config, noise)
    elif seconds:
        data = from_pairs(inputs, seconds, config)
    else:
        raise ConfigError(NEEDS_PAIRS)
    return train(config, data, out_dir, progress=progress, resume=resume)


def denoise_volume(
    volume: Volume,
    *,
    model_dir: Path | None = None,
    second: Volume | None = None,
    config: N2NConfig | None = None,
    work_dir: Path | None = None,
    progress: ProgressCallback = ignore_progress,
    resume: bool = False,
) -> Volume:
    """Denoise with a trained model, or first train on the (volume, second) pair in `work_dir`.

    With `second` the result is the mean of the predictions on both acquisitions (the paper's Eq. 3).
    """
    from services.n2n.predict import denoise, load_model

    if model_dir is None:
        if second is None:
            raise ConfigError(
                "n2n without a trained model needs a second noisy acquisition of the same anatomy to train on"
            )
        if work_dir is None:
            raise ValueError("work_dir is needed to train on the pair")
        train_model(
            config or N2NConfig(), [volume], work_dir, seconds=[second], progress=progress, resume=resume
        )
        model_dir = work_dir
    return denoise(volume, load_model(model_dir), second=second, progress=progress)
