"""What every method's service offers the CLI and the worker shells: train, and denoise (fitting first if asked).

A method implements `MethodWorkflow` in `services/<method>/workflow.py` as a subclass whose methods import
their framework only when called, so the module itself imports fast and framework-free (the Celery prefork
parent never holds TensorFlow or CUDA state). Callers find the instance with `load_workflow(method)`.

Written here once, for every method: how series (4D) are taken apart into volumes and put back, how a
denoise call fits on its input first when no model is given, and the output rules (a magnitude input gives
a magnitude output). A method itself only ever sees single 3D volumes.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, cast

import numpy as np

from shared.errors import ConfigError, ShapeMismatchError
from shared.manifest import ModelManifest
from shared.methods import AnyConfig, MethodName, fit_config
from shared.methods.inference import InferenceOptions
from shared.methods.registry import method_spec, pairing_methods
from shared.noise import NoiseKind
from shared.progress import ProgressCallback, ignore_progress
from shared.quality.assessment import ModelUse, QualityReport, assess
from shared.quality.noise_level import told_noise_of_volume
from shared.slices import acquisition_axis
from shared.volume import Volume


@dataclass(frozen=True, eq=False)
class TrainingSet:
    """What a method trains on, as single 3D volumes (series already taken apart)."""

    inputs: list[Volume]
    """Noisy volumes, or clean ones when `sigma` is set."""
    sigma: float | None = None
    """Synthetic noise level (0-255 scale): `inputs` are clean, their noisy copies are drawn with it."""
    second_acquisitions: list[Volume] | None = None
    """The second noisy acquisition of each input, in order (Noise2Noise pairs)."""
    noise: NoiseKind = "gaussian"
    """The kind of synthetic noise."""


class MethodWorkflow(ABC):
    """Train a model, denoise a volume or series with one (or fit one on it first), and tell whether to resume."""

    method: ClassVar[MethodName]

    # What a method implements: on single 3D volumes only.

    @abstractmethod
    def train_volumes(
        self, config: AnyConfig, data: TrainingSet, out_dir: Path, *, progress: ProgressCallback, resume: bool
    ) -> ModelManifest:
        """Train on 3D volumes: noisy ones, clean ones + a synthetic sigma, or pairs of acquisitions."""

    @abstractmethod
    def predict(
        self,
        volumes: list[Volume],
        model_dir: Path,
        *,
        second_acquisitions: list[Volume] | None,
        progress: ProgressCallback,
        options: InferenceOptions | None = None,
    ) -> list[np.ndarray]:
        """The denoised data of each 3D volume, with the model in `model_dir` loaded once (with each
        volume's second acquisition, `second_acquisitions[i]` for `volumes[i]`, if the method uses one),
        applied with `options` (InferenceOptions; a method ignores those that are not its own)."""

    @abstractmethod
    def has_checkpoint(self, out_dir: Path) -> bool:
        """Whether `out_dir` holds a training checkpoint that `resume=True` continues."""

    # What callers use: volumes or series.

    def train_model(
        self,
        config: AnyConfig,
        inputs: list[Volume],
        out_dir: Path,
        *,
        sigma: float | None = None,
        second_acquisitions: list[Volume] | None = None,
        repeats: bool = False,
        volumes: Sequence[int] | None = None,
        noise: NoiseKind = "gaussian",
        progress: ProgressCallback = ignore_progress,
        resume: bool = False,
    ) -> ModelManifest:
        """Train from volumes or series (see `training_volumes`) into `out_dir`; the model's manifest."""
        firsts, partners = training_volumes(
            inputs, second_acquisitions, repeats=repeats, volumes=volumes, method=self.method
        )
        data = TrainingSet(inputs=firsts, sigma=sigma, second_acquisitions=partners, noise=noise)
        return self.train_volumes(config, data, out_dir, progress=progress, resume=resume)

    def denoise_volume(
        self,
        volume: Volume,
        *,
        model_dir: Path | None = None,
        second: Volume | None = None,
        config: AnyConfig | None = None,
        work_dir: Path | None = None,
        repeats: bool = False,
        volumes: Sequence[int] | None = None,
        progress: ProgressCallback = ignore_progress,
        resume: bool = False,
        options: InferenceOptions | None = None,
    ) -> Volume:
        """Denoise a volume or a series with the model in `model_dir`, or fit one on the input first.

        A fit trains in `work_dir` on the input (every volume of a series together), its second acquisition,
        or the consecutive volumes of a series of `repeats` (only the `volumes` chosen as repetitions, when
        given; every volume is still denoised); it uses `config`, or the method's fit defaults
        (shared.methods.registry), and with `resume` continues the checkpoint a killed fit left there.
        A series is denoised volume by volume and comes back a series with its geometry and metadata.
        An input without negative voxels (a magnitude image) gives an output without them: the few negative
        values a network can produce in dark background are set to 0, the same in every output format.
        """
        if second is not None and second.shape != volume.shape:
            raise ShapeMismatchError(
                f"the input has shape {volume.shape} but the second acquisition has shape {second.shape}"
            )
        if model_dir is None:
            if work_dir is None:
                raise ValueError("work_dir is needed to fit on the volume")
            self.train_model(
                config or fit_config(self.method, {}),
                [volume],
                work_dir,
                second_acquisitions=[second] if second is not None else None,
                repeats=repeats,
                volumes=volumes,
                progress=progress,
                resume=resume,
            )
            model_dir = work_dir
        partners = second.frames() if second is not None else None
        outputs = self.predict(
            volume.frames(), model_dir, second_acquisitions=partners, progress=progress, options=options
        )
        return volume.with_frames([as_magnitude_of(volume, output) for output in outputs])

    def assess(
        self,
        volume: Volume,
        result: Volume,
        model_dir: Path,
        *,
        second: Volume | None = None,
        probes: int = 1,
        options: InferenceOptions | None = None,
    ) -> QualityReport:
        """How good `result` (this workflow's output on `volume` with the model in `model_dir`) is, without a
        reference (shared.quality.assessment): one more prediction per SURE probe, and with a second
        acquisition one of the first copy alone. A series is assessed on its first volume."""
        frame, out = volume.frames()[0], result.frames()[0].data
        partner = second.frames()[0] if second is not None else None

        def denoiser(data: np.ndarray) -> np.ndarray:
            moved = frame.with_data(data)
            partners = [partner] if partner is not None else None
            (output,) = self.predict(
                [moved], model_dir, second_acquisitions=partners, progress=ignore_progress, options=options
            )
            return as_magnitude_of(volume, output)

        use = model_use(model_dir, frame, partner, options)
        single = None
        if partner is not None:
            (alone,) = self.predict(
                [frame], model_dir, second_acquisitions=None, progress=ignore_progress, options=options
            )
            single = as_magnitude_of(volume, alone)
        told = use.noise_told if use is not None else None
        report = assess(
            frame.data,
            out,
            denoiser,
            method=self.method,
            slice_axis=acquisition_axis(frame),
            second=partner.data if partner is not None else None,
            single_copy=single,
            # The sigma the model was told when it was given or measured on the pair: SURE then assumes
            # what the denoiser assumed, and the pair's sigma beats a single-volume estimate.
            sigma=told.sigma if told is not None and told.source in ("given", "pair") else None,
            probes=probes,
        )
        return report.model_copy(update={"model": use})


def model_use(
    model_dir: Path, frame: Volume, partner: Volume | None, options: InferenceOptions | None
) -> ModelUse:
    """Which model `model_dir` is (the prior, or a model fine-tuned from it) and the noise level it is told
    about `frame`: the same computation the prediction makes (services/n2n/predict.py told_noise)."""
    from shared.intensity import Normalisation
    from shared.manifest import read_manifest
    from shared.models.builtin import PRIOR_DIR, PRIOR_ID

    manifest = read_manifest(model_dir, verify=False)
    told = None
    if manifest.config.get("noise_map"):
        told = told_noise_of_volume(
            frame,
            Normalisation.of_model(manifest.data),
            second=partner,
            given=options.noise_sigma if options is not None else None,
        )
    is_prior = Path(model_dir).resolve() == PRIOR_DIR.resolve()
    return ModelUse(
        model=PRIOR_ID if is_prior else Path(model_dir).name,
        weights_sha256=next(
            iter(
                digest
                for name, digest in manifest.files.items()
                if name.endswith(".safetensors") or name.endswith(".h5")
            ),
            None,
        ),
        started_from=manifest.data.get("started_from"),
        noise_told=told,
    )


def as_magnitude_of(volume: Volume, output: np.ndarray) -> np.ndarray:
    """`output` with negative values set to 0 when `volume` (the input) has none: a magnitude in, a
    magnitude out."""
    return np.maximum(output, 0.0) if float(volume.data.min()) >= 0.0 else output


def parse_volumes(text: str) -> tuple[int, ...]:
    """The volume indices of a `volumes` option or form field: comma-separated, counted from 0 ("0,1")."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in parts):
        raise ConfigError(
            f"volumes must list volume numbers of the series, counted from 0 and separated by commas "
            f"(e.g. 0,1); got {text!r}"
        )
    return tuple(int(part) for part in parts)


def check_volumes(volumes: Sequence[int], count: int, name: str) -> list[int]:
    """`volumes`, the repeated volumes chosen in a series of `count` volumes named `name`, after checking
    that they are at least two distinct volumes of that series."""
    chosen = list(volumes)
    if len(chosen) < 2:
        raise ConfigError(
            f"volumes: choose at least 2 volumes that repeat the same acquisition, to pair; got {len(chosen)}"
        )
    repeated = sorted({v for v in chosen if chosen.count(v) > 1})
    if repeated:
        raise ConfigError(f"volumes: volume {repeated[0]} is listed twice; a volume cannot pair with itself")
    outside = [v for v in chosen if not 0 <= v < count]
    if outside:
        held = "a single volume (volume 0)" if count == 1 else f"{count} volumes (0 to {count - 1})"
        raise ConfigError(f"volumes: {name} holds {held}; there is no volume {outside[0]}")
    return chosen


def training_volumes(
    inputs: list[Volume],
    second_acquisitions: list[Volume] | None,
    *,
    repeats: bool,
    method: MethodName,
    volumes: Sequence[int] | None = None,
) -> tuple[list[Volume], list[Volume] | None]:
    """The 3D volumes a method trains on, from volumes and series.

    Every volume of a series is a training volume of its own. With second acquisitions, volume t of an
    input pairs with volume t of its second (same shape required). With `repeats` (n2n), a series holds
    repeated acquisitions of the same anatomy, e.g. several b=0 volumes: each volume pairs with the next.
    `volumes` (which implies `repeats`) names the volumes of each series that are such repetitions, e.g.
    (0, 1) of a DWI series b=5, b=5, b=1500: they pair in the order given, the others are not trained on.
    """
    if repeats or volumes is not None:
        option = "repeats" if volumes is None else "volumes"
        if not method_spec(method).pairs:
            raise ConfigError(
                f"{option} pairs the volumes of a series for {pairing_methods()}; {method} trains on every "
                "volume anyway"
            )
        if second_acquisitions:
            raise ConfigError(
                f"give either second acquisitions or {option} (a series of repetitions), not both"
            )
        firsts: list[Volume] = []
        partners: list[Volume] = []
        for i, series in enumerate(inputs):
            frames = series.frames()
            if volumes is not None:
                frames = [frames[v] for v in check_volumes(volumes, len(frames), f"input {i}")]
            elif len(frames) < 2:
                raise ConfigError(
                    f"input {i}: repeats needs a series of at least 2 repeated volumes, got one volume"
                )
            firsts += frames[:-1]
            partners += frames[1:]
        return firsts, partners
    if not second_acquisitions:
        return [frame for volume in inputs for frame in volume.frames()], None
    if len(second_acquisitions) != len(inputs):
        raise ConfigError(
            f"got {len(inputs)} first and {len(second_acquisitions)} second acquisitions; give exactly one "
            "second per first"
        )
    for i, (first, second) in enumerate(zip(inputs, second_acquisitions, strict=True)):
        if first.shape != second.shape:
            raise ShapeMismatchError(
                f"pair {i + 1}: the first acquisition has shape {first.shape} but the second has shape "
                f"{second.shape}; they must match"
            )
    return (
        [frame for volume in inputs for frame in volume.frames()],
        [frame for volume in second_acquisitions for frame in volume.frames()],
    )


def load_workflow(method: MethodName) -> MethodWorkflow:
    """The workflow of `method` (imports its service module, but not its framework)."""
    return cast(MethodWorkflow, importlib.import_module(method_spec(method).workflow_module).workflow)
