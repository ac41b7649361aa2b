"""The single-scan rows: what a user with nothing but the noisy volume (or a second acquisition) gets from
`fetal-denoise denoise --fit`, run through the services' own workflow on the noisy test volume.

Unlike the trained-model rows (the paper's protocol: train on training slices, predict the test slices),
a fit trains on the very volume it denoises, as the service does: no clean data, and the test slices are
part of the scan being fitted. The fits slice in the benchmark's sagittal plane, so the test slices are
predicted as the network was trained. With `budget.curve` the test slices are scored after every epoch
with the weights the fit would keep if it stopped there, against the training seconds so far (the
scoring time itself is taken out): the time-to-quality curve.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from benchmarks.budget import Budget
from benchmarks.data import BenchmarkData, NoisyCopies
from benchmarks.estimates import row_estimates
from benchmarks.prediction import Prediction
from shared.intensity import Normalisation
from shared.methods import MethodName, fit_config
from shared.methods.workflow import load_workflow
from shared.metrics import compare
from shared.progress import Progress, ignore_progress
from shared.volume import Volume

FitKey = Literal["n2v_fit", "n2n_fit", "n2n_pair_fit"]
FIT_KEYS: tuple[FitKey, ...] = ("n2v_fit", "n2n_fit", "n2n_pair_fit")
METHOD: dict[FitKey, MethodName] = {"n2v_fit": "n2v", "n2n_fit": "n2n", "n2n_pair_fit": "n2n"}


@dataclass(frozen=True)
class CurvePoint:
    """The test slices' mean PSNR with the weights kept after `epoch` epochs and `seconds` of training."""

    epoch: int
    seconds: float
    psnr: float


@dataclass
class FitRecorder:
    """Progress callback of one fit: the training clock, when prediction started, and the curve."""

    score: Callable[[], float] | None
    points: list[CurvePoint] = field(default_factory=list)
    train_seconds: float = 0.0
    predict_started: float | None = None
    _scoring_seconds: float = 0.0

    def __call__(self, event: Progress) -> None:
        if event.stage == "predicting" and self.predict_started is None:
            self.predict_started = time.perf_counter()
        if event.stage != "training" or event.val_loss is None or event.epoch is None:
            return
        seconds = (event.seconds or 0.0) - self._scoring_seconds  # the trainer's clock ran while we scored
        self.train_seconds = seconds
        if self.score is not None:
            begun = time.perf_counter()
            self.points.append(CurvePoint(epoch=event.epoch, seconds=round(seconds, 2), psnr=self.score()))
            self._scoring_seconds += time.perf_counter() - begun


def run_fit(
    key: FitKey, data: BenchmarkData, noisy: NoisyCopies, budget: Budget, work: Path
) -> tuple[Prediction, list[CurvePoint]]:
    """Fit `key`'s method on the first noisy volume (and the second, for the pair) and score its output."""
    method = METHOD[key]
    first = data.volume.with_data(noisy.volumes[0])
    second = data.volume.with_data(noisy.volumes[1]) if key == "n2n_pair_fit" else None
    params = budget.n2n_fit_params if method == "n2n" else budget.n2v_fit_params
    config = fit_config(method, {**params, "plane": "sagittal", "seed": 0}, scratch=True)
    scorer = _scorer(method, data, [first] + ([second] if second is not None else []), work, config)
    recorder = FitRecorder(scorer if budget.curve else None)
    denoised = load_workflow(method).denoise_volume(
        first, second=second, config=config, work_dir=work, progress=recorder
    )
    ended = time.perf_counter()
    estimates = _estimates(method, data, noisy.sigma, first, second, denoised.data, work)
    manifest = json.loads((work / "manifest.json").read_text(encoding="utf-8"))
    validation = manifest["validation"]
    steps = int(config.epochs) * int(config.steps_per_epoch or manifest["data"].get("steps_per_epoch", 0))
    prediction = Prediction(
        images=data.test_slices_of(denoised.data),
        train_steps=steps,
        train_seconds=float(validation["seconds"]),
        infer_seconds=ended - (recorder.predict_started or ended),
        infer_slices=first.shape[data.axis],
        scope="whole volume",
        settings=_settings(config.model_dump(mode="json"), manifest["data"]),
        estimates=estimates,
    )
    return prediction, recorder.points


def _estimates(
    method: MethodName,
    data: BenchmarkData,
    sigma: float,
    first: Volume,
    second: Volume | None,
    result: np.ndarray,
    work: Path,
) -> dict[str, float | None]:
    """The quality estimates of the fit's output on the whole volume, next to the truth."""
    workflow = load_workflow(method)
    partners = [second] if second is not None else None

    def denoiser(array: np.ndarray) -> np.ndarray:
        (output,) = workflow.predict(
            [first.with_data(array)], work, second_acquisitions=partners, progress=ignore_progress
        )
        return output

    single = None
    if second is not None:
        (single,) = workflow.predict([first], work, second_acquisitions=None, progress=ignore_progress)
    return row_estimates(
        first.data,
        data.volume.data,
        result,
        denoiser,
        sigma,
        slice_axis=data.axis,
        second=second.data if second is not None else None,
        single_copy=single,
    )


def _settings(config: dict[str, Any], summary: dict[str, Any]) -> dict[str, str | int | float | bool]:
    """The fit's config as it ran (scalars only), and the noise level a single-scan fit estimated."""
    settings = {k: v for k, v in config.items() if isinstance(v, str | int | float | bool)}
    volumes = summary.get("volumes") or [{}]
    if isinstance(volumes[0], dict) and volumes[0].get("sigma_255") is not None:
        settings["estimated_sigma_255"] = float(volumes[0]["sigma_255"])
    return settings


def _scorer(
    method: MethodName, data: BenchmarkData, copies: list[Any], work: Path, config: Any
) -> Callable[[], float]:
    """A function scoring the weights the fit in `work` keeps now on the test slices (mean PSNR, dB)."""
    mapping = Normalisation().fit(copies[0].data)
    axis = data.axis
    refs = [s for _, s in data.split.test]
    predict = (
        _n2n_predictor(work, config, axis, refs) if method == "n2n" else _n2v_predictor(work, axis, refs)
    )

    def score() -> float:
        outputs = [predict(mapping.normalise(copy.data)) for copy in copies]
        denoised = mapping.denormalise(np.mean(outputs, axis=0))
        return float(np.mean([compare(c, d, 1.0).psnr for c, d in zip(data.test, denoised, strict=True)]))

    return score


def _n2n_predictor(work: Path, config: Any, axis: int, refs: list[int]) -> Callable[[np.ndarray], np.ndarray]:
    """The N2N network with the weights kept so far (model.safetensors), run on the test slices' stacks."""
    from services.n2n.checkpoint import WEIGHTS_NAME, load_weights
    from services.n2n.inference import predict_slices
    from services.n2n.model import network_for
    from shared.slices import context_stack

    def predict(normalised: np.ndarray) -> np.ndarray:
        network = network_for(config)
        load_weights(work / WEIGHTS_NAME, network)
        stacks = np.stack([context_stack(normalised, axis, s, config.context) for s in refs])
        return predict_slices(
            network, stacks, batch_size=8, tile=config.tile, overlap=config.tile_overlap, amp=False
        )

    return predict


def _n2v_predictor(work: Path, axis: int, refs: list[int]) -> Callable[[np.ndarray], np.ndarray]:
    """The N2V network with the weights kept so far (n2v's weights_best.h5), run on the test slices."""
    from services.n2v.tf_env import N2V, quiet
    from services.n2v.train import MODEL_NAME

    def predict(normalised: np.ndarray) -> np.ndarray:
        with quiet():
            model = N2V(config=None, name=MODEL_NAME, basedir=str(work))
            model.keras_model.load_weights(str(work / MODEL_NAME / "weights_best.h5"))
            return np.stack(
                [model.predict(np.ascontiguousarray(np.take(normalised, s, axis=axis)), "YX") for s in refs]
            )

    return predict
