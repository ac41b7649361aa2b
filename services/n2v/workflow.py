"""The N2V use cases as plain functions over volumes: what the CLI and the Celery tasks both call."""

from __future__ import annotations

from pathlib import Path

from services.n2v.config import N2VConfig
from shared.errors import ConfigError
from shared.manifest import ModelManifest
from shared.noise import NoiseKind
from shared.progress import ProgressCallback, ignore_progress
from shared.volume import Volume


def train_model(
    config: N2VConfig,
    inputs: list[Volume],
    out_dir: Path,
    *,
    sigma: float | None = None,
    seconds: list[Volume] | None = None,
    noise: NoiseKind = "gaussian",
    progress: ProgressCallback = ignore_progress,
    resume: bool = False,
) -> ModelManifest:
    """Train on noisy `inputs`, or on clean `inputs` + `sigma` (synthetic noise; clean used for validation only)."""
    from services.n2v.noisy import noisy_from_clean
    from services.n2v.train import train

    if seconds:
        raise ConfigError("second acquisitions are only used by n2n; n2v trains on single noisy volumes")
    if sigma is None:
        return train(config, inputs, out_dir, progress=progress, resume=resume)
    noisy = noisy_from_clean(inputs, sigma, config.seed, noise)
    return train(
        config, noisy, out_dir, clean=inputs, progress=progress, resume=resume, data_info={"sigma": sigma}
    )


def denoise_volume(
    volume: Volume,
    *,
    model_dir: Path | None = None,
    second: Volume | None = None,
    config: N2VConfig | None = None,
    work_dir: Path | None = None,
    progress: ProgressCallback = ignore_progress,
) -> Volume:
    """Denoise with a trained model, or fit N2V on `volume` itself in `work_dir` (the config's budget)."""
    if second is not None:
        raise ConfigError("a second acquisition is only used by n2n")
    if model_dir is not None:
        from services.n2v.predict import denoise, load_model

        return denoise(volume, load_model(model_dir), progress=progress)
    if work_dir is None:
        raise ValueError("work_dir is needed to fit on the volume")
    from services.n2v.fit import fit_and_denoise

    return fit_and_denoise(volume, config or N2VConfig(), work_dir, progress=progress)
