"""Self-supervised "fit on this volume": train N2V on the one noisy scan a user has, then denoise it."""

from __future__ import annotations

from pathlib import Path

from services.n2v.config import N2VConfig
from services.n2v.predict import denoise, load_model
from services.n2v.train import train
from shared.progress import ProgressCallback, ignore_progress
from shared.volume import Volume

MODEL_SUBDIR = "model"
"""Where the model trained on the volume is kept inside `work_dir` (reusable, resumable)."""


def fit_and_denoise(
    volume: Volume,
    config: N2VConfig,
    work_dir: Path,
    *,
    progress: ProgressCallback = ignore_progress,
    resume: bool = False,
    memory_budget_mb: int = 2048,
) -> Volume:
    """Train on `volume` itself within the config's budget (epochs x steps_per_epoch), then denoise it.

    N2V needs no clean or second image, so the volume is its own training set; a tenth of its slices
    (or 3D patches) is held out only to pick the best epoch. The model stays in `work_dir/model`.
    """
    model_dir = Path(work_dir) / MODEL_SUBDIR
    train(config, [volume], model_dir, progress=progress, resume=resume)
    return denoise(volume, load_model(model_dir), progress=progress, memory_budget_mb=memory_budget_mb)
