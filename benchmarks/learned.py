"""The learned rows: N2V through services.n2v, N2N and N2C (its clean-target mode) through services.n2n.

Each trains on the benchmark's training slices only and predicts the same noisy test slices. N2N and
N2C predict with `services.n2n.inference.predict_slices` on the normalised slices directly, the scale
they were trained on; N2V predicts with the loaded n2v model on the scale of its training volume.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import numpy as np

from benchmarks.baselines import Prediction
from benchmarks.budget import Budget
from benchmarks.data import BenchmarkData
from benchmarks.estimates import row_estimates
from benchmarks.results import MethodKey
from shared.intensity import IntensityMapping

PREDICT_BATCH = 8
"""Slices per forward pass at inference."""


def _check_no_leak(train: list[tuple[int, int]], data: BenchmarkData, method: str) -> None:
    """Refuse a training split that holds a benchmark test slice."""
    leaked = set(train) & set(data.split.test)
    if leaked:
        raise RuntimeError(
            f"{method}: {len(leaked)} test slice(s) are in its training split, e.g. {min(leaked)}"
        )


def run_n2n(
    data: BenchmarkData,
    sigma: float,
    noisy: tuple[np.ndarray, np.ndarray],
    budget: Budget,
    work: Path,
    seed: int,
    targets: Literal["noisy", "clean"],
) -> dict[MethodKey, Prediction]:
    """Train N2N (noisy targets: rows n2n and n2n_eq3) or N2C (clean targets: row n2c); predict the test slices."""
    from services.n2n.data import from_clean
    from services.n2n.inference import predict_slices
    from services.n2n.predict import load_model
    from services.n2n.train import train
    from shared.methods.n2n import N2NConfig

    config = N2NConfig(
        epochs=budget.epochs,
        steps_per_epoch=budget.steps_per_epoch,
        batch_size=budget.batch_size,
        crop_size=budget.patch_size,
        lr=budget.lr,
        rampdown=budget.rampdown,
        seed=seed,
        plane="sagittal",
        targets=targets,
    )
    training = from_clean([data.volume], sigma, config)
    _check_no_leak(training.split.train + training.split.val, data, "N2N")
    started = time.perf_counter()
    train(config, training, work)
    network = load_model(work).network
    train_seconds = time.perf_counter() - started

    def predict(images: np.ndarray) -> tuple[np.ndarray, float]:
        """The network's output on (N, H, W) normalised slices, and the seconds it took."""
        begun = time.perf_counter()
        out = predict_slices(
            network,
            images,
            batch_size=PREDICT_BATCH,
            tile=config.tile,
            overlap=config.tile_overlap,
            amp=config.amp,
        )
        return out, time.perf_counter() - begun

    first, first_s = predict(noisy[0])
    if targets == "clean":
        return {"n2c": Prediction(first, budget.steps, train_seconds, first_s)}
    second, second_s = predict(noisy[1])
    estimates = row_estimates(
        noisy[0],
        data.test,
        first,
        lambda images: predict(images)[0],
        sigma,
        second=noisy[1],
        single_copy=first,
    )
    return {
        "n2n": Prediction(first, budget.steps, train_seconds, first_s, estimates=estimates),
        "n2n_eq3": Prediction((first + second) / 2, budget.steps, train_seconds, first_s + second_s),
    }


def run_n2v(
    data: BenchmarkData,
    sigma: float,
    noisy: tuple[np.ndarray, np.ndarray],
    budget: Budget,
    work: Path,
    seed: int,
) -> Prediction:
    """Train N2V on one noisy copy of the template and denoise the noisy test slices.

    services.n2v normalises a noisy volume by its own min-max; the test slices are put on the scale of
    the training volume's mapping (recorded in the manifest), as if the whole noisy volume were denoised.
    """
    from services.n2v.noisy import noisy_from_clean
    from services.n2v.predict import load_model
    from services.n2v.tf_env import quiet
    from services.n2v.train import train
    from shared.methods.n2v import N2VConfig

    config = N2VConfig(
        epochs=budget.epochs,
        steps_per_epoch=budget.steps_per_epoch,
        batch_size=budget.batch_size,
        patch_size=budget.patch_size,
        lr=budget.lr,
        rampdown=budget.rampdown,
        batch_norm=budget.n2v_batch_norm,
        unet_n_depth=budget.n2v_unet_depth,
        seed=seed,
        plane="sagittal",
        **({} if budget.n2v_perc_pix is None else {"n2v_perc_pix": budget.n2v_perc_pix}),
    )
    # Training noise from the training seed: independent of the test copies' noise.
    noisy_volume = noisy_from_clean([data.volume], sigma, seed)[0]
    started = time.perf_counter()
    manifest = train(config, [noisy_volume], work, clean=[data.volume], data_info={"sigma": sigma})
    train_seconds = time.perf_counter() - started
    n2v_train = manifest.data["split"]["train"]
    _check_no_leak([(int(v), int(s)) for v, s in n2v_train], data, "N2V")
    mapping = IntensityMapping.model_validate(manifest.data["intensity"][0])
    model = load_model(work).model

    def denoise(images: np.ndarray) -> np.ndarray:
        """The trained model on (N, H, W) noisy slices, on the training volume's intensity scale."""
        with quiet():
            out = [model.predict(np.ascontiguousarray(mapping.normalise(image)), "YX") for image in images]
        return mapping.denormalise(np.stack(out))

    begun = time.perf_counter()
    images = denoise(noisy[0])
    infer_seconds = time.perf_counter() - begun
    return Prediction(
        images=images,
        train_steps=budget.steps,
        train_seconds=train_seconds,
        infer_seconds=infer_seconds,
        estimates=row_estimates(noisy[0], data.test, images, denoise, sigma),
    )
