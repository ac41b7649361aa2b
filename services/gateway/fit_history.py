"""Expected training time of a fit on an upload, from the fits this server has finished.

Every training writes a model manifest whose `validation` records its epochs and training seconds
(shared/training/state.py). A fit on an upload keeps its model in the job's folder, `jobs/<id>/model/`
(shared/worker/jobs.py). The rate of one fit is its trained steps over its training seconds (validation
included, loading and prediction not); a budget is divided by the median rate of the most recent fits of
the same method, so one unusual fit does not skew it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.gateway.schemas import FitEstimate
from shared.errors import FetalDenoiseError
from shared.jobs.paths import is_valid_id, jobs_root
from shared.manifest import MANIFEST_NAME, ModelManifest, read_manifest
from shared.methods import MethodName

Method = MethodName
FIT_MODEL_DIR = "model"
"""Where a job's fit keeps its model inside jobs/<id>/ (shared.worker.jobs.WORK_DIR; a test keeps them equal,
without the gateway importing the worker runtime)."""
RECENT_FITS = 10
"""How many of the newest finished fits of a method the rate is the median of."""


@dataclass(frozen=True)
class FinishedFit:
    """One finished training: when it ended, how many steps it trained, in how many seconds."""

    method: Method
    created: datetime
    steps: int
    seconds: float


def finished_fit(manifest: ModelManifest) -> FinishedFit | None:
    """The steps and seconds a manifest records; None when it lacks either (e.g. derived steps per epoch)."""
    steps_per_epoch = manifest.config.get("steps_per_epoch")
    epochs = manifest.validation.get("epochs_trained")
    seconds = manifest.validation.get("seconds")
    if not isinstance(steps_per_epoch, int) or not isinstance(epochs, int) or epochs < 1:
        return None
    if not isinstance(seconds, int | float) or seconds <= 0:
        return None
    return FinishedFit(
        method=manifest.method,
        created=manifest.created,
        steps=steps_per_epoch * epochs,
        seconds=float(seconds),
    )


def recent_fits(data_dir: Path, method: Method, limit: int = RECENT_FITS) -> list[FinishedFit]:
    """The newest `limit` finished fits of `method` in the data directory (newest manifest files first)."""
    root = jobs_root(data_dir)
    manifests: list[tuple[float, Path]] = []
    if root.is_dir():
        for job in root.iterdir():
            if not is_valid_id(job.name):
                continue
            path = job / FIT_MODEL_DIR / MANIFEST_NAME
            try:
                manifests.append((path.stat().st_mtime, path.parent))
            except OSError:
                continue  # no finished fit here, or its job is being removed
    fits: list[FinishedFit] = []
    for _, folder in sorted(manifests, reverse=True):
        try:
            manifest = read_manifest(folder, expected_method=method, verify=False)
        except FetalDenoiseError:
            continue  # the other method's fit, or a manifest being replaced
        fit = finished_fit(manifest)
        if fit is not None:
            fits.append(fit)
        if len(fits) == limit:
            break
    return fits


def estimate_fit(data_dir: Path, method: Method, epochs: int, steps_per_epoch: int) -> FitEstimate:
    """Expected training seconds of a fit of `epochs` x `steps_per_epoch` steps on this server."""
    steps = epochs * steps_per_epoch
    fits = recent_fits(data_dir, method)
    if not fits:
        return FitEstimate(
            method=method,
            steps=steps,
            seconds=None,
            steps_per_second=None,
            based_on=0,
            source="none",
            note=f"No {method} fit has finished on this server yet; the first one sets the rate.",
        )
    rate = statistics.median(fit.steps / fit.seconds for fit in fits)
    plural = "fit" if len(fits) == 1 else f"{len(fits)} fits"
    return FitEstimate(
        method=method,
        steps=steps,
        seconds=steps / rate,
        steps_per_second=rate,
        based_on=len(fits),
        source="job history",
        note=(
            f"Training time only (validation included, loading and prediction not), at the median rate of "
            f"the last {plural} of {method} on this server: {rate:.3g} steps/s."
        ),
    )
