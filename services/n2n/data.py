"""Noise2Noise training data: normalised slice pairs for training and validation, and their split.

Three sources: clean volumes plus synthetic noise of a given sigma (the paper's protocol), pairs of real
noisy acquisitions of the same anatomy, or single noisy scans, paired with recorrupted copies of
themselves at training time (Recorrupted-to-Recorrupted, Pang et al. 2021: y + a z and y - z / a, z
Gaussian of the scan's noise level, have independent noise, so they are a Noise2Noise pair of one scan).
A clean volume is normalised by its min-max range, on which the paper defines sigma; a noisy one by the
robust percentile mapping (shared.intensity), fitted on the first copy of a pair and applied to both.

Every slice is kept as a stack (2 context + 1, H, W): the slice in the middle and its `context` neighbours
on either side, the network's 2.5D input. Test slices are only named in the split (benchmarks gather them).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from shared.errors import ConfigError, InvalidVolumeError, ShapeMismatchError
from shared.intensity import IntensityMapping, Normalisation
from shared.methods.n2n import N2NConfig
from shared.noise import NoiseKind, check_sigma, noisy_pair, sigma_to_unit
from shared.quality.noise_level import estimate_noise_level
from shared.quality.pair import pair_noise_sigma
from shared.slices import (
    DatasetSplit,
    PlaneSetting,
    context_stack,
    foreground_slices,
    plane_of_axis,
    slice_axis,
    split_slices,
)
from shared.volume import Volume, check_voxels, require_single

AFFINE_TOLERANCE = 1e-3
"""Two acquisitions are voxel-aligned when their affines agree to this (mm, or mm per voxel)."""

# Distinct streams of one seed, so changing one use of randomness never shifts another.
NOISE_STREAM = 1

Source = Literal["synthetic", "pairs", "single"]


@dataclass(frozen=True, eq=False)
class SlicePairs:
    """Normalised slice stacks (2 context + 1, H, W) of one subset.

    `first[i]` and `second[i]` are the two noisy copies; `second` is None for single scans, whose pair is
    made by recorruption with `noise_std[i]` (the scan's noise level on the normalised scale); `clean[i]`
    the clean stack, when known.
    """

    first: list[np.ndarray]
    second: list[np.ndarray] | None
    clean: list[np.ndarray] | None
    noise_std: list[float] | None = None

    def __len__(self) -> int:
        return len(self.first)

    @property
    def middle(self) -> int:
        """Channel of the slice itself in each stack (its neighbours lie on either side)."""
        return self.first[0].shape[0] // 2 if self.first else 0


@dataclass(frozen=True, eq=False)
class N2NTrainingData:
    """Everything a Noise2Noise training reads: slice pairs, the split, and how they were made."""

    train: SlicePairs
    val: SlicePairs
    split: DatasetSplit
    plane: PlaneSetting
    source: Source
    sigma: float | None
    noise: NoiseKind | None
    volumes: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        """JSON-ready description: volumes, shapes, spacing, intensity maps, sigma, slice counts, split."""
        return {
            "source": self.source,
            "plane": self.plane,
            "axis": self.split.axis,
            "anatomical_plane": self.anatomical_plane,
            "sigma": self.sigma,
            "sigma_scale": "0-255 of the normalised [0, 1] range" if self.sigma is not None else None,
            "noise": self.noise,
            "pairs": _PAIRS[self.source],
            "volumes": self.volumes,
            "normalisation": Normalisation().model_dump(),
            "slices": {
                "train": len(self.split.train),
                "val": len(self.split.val),
                "test": len(self.split.test),
            },
            "split": self.split.model_dump(mode="json"),
        }

    @property
    def anatomical_plane(self) -> str | None:
        """The anatomical plane the training slices lie in (of the first volume)."""
        return self.volumes[0].get("anatomical_plane") if self.volumes else None

    def fingerprint(self) -> str:
        """sha256 of the summary and every slice: a resumed training refuses data that differ."""
        digest = hashlib.sha256(json.dumps(self.summary(), sort_keys=True).encode())
        for subset in (self.train, self.val):
            for group in (subset.first, subset.second or [], subset.clean or []):
                for image in group:
                    digest.update(np.ascontiguousarray(image).tobytes())
            digest.update(json.dumps(subset.noise_std).encode())
        return digest.hexdigest()


def from_clean(
    volumes: list[Volume], sigma: float, config: N2NConfig, noise: NoiseKind = "gaussian"
) -> N2NTrainingData:
    """The paper's protocol: two independent noisy copies (sigma on the 0-255 scale) of each clean volume.

    The noisy copies of volume i are drawn once from (`config.seed`, i) (fixed, as in the paper); with
    `config.resample_noise` the trainer draws fresh ones every epoch from the clean stacks kept here.
    """
    if not volumes:
        raise ConfigError("no training volumes given")
    sigma = check_sigma(sigma)
    normalised, described = [], []
    for i, volume in enumerate(volumes):
        name = f"volume {i}"
        check_voxels(require_single(volume, name).data, name)
        mapping = IntensityMapping.min_max(volume.data, name)  # sigma is defined on the clean range
        normalised.append(mapping.normalise(volume.data))
        described.append(_describe(volume, mapping))
    axis = _common_axis(volumes, config.plane, described)
    split = _split([_kept(n, axis, config) for n in normalised], axis, config, described)
    copies = [
        noisy_pair(clean, sigma, np.random.default_rng([config.seed, NOISE_STREAM, i]), noise)
        for i, clean in enumerate(normalised)
    ]
    firsts, second_copies = [c[0] for c in copies], [c[1] for c in copies]

    def subset(refs: list[tuple[int, int]]) -> SlicePairs:
        return SlicePairs(
            _take(firsts, refs, axis, config.context),
            _take(second_copies, refs, axis, config.context),
            _take(normalised, refs, axis, config.context),
            [sigma_to_unit(sigma)] * len(refs),
        )

    return N2NTrainingData(
        train=subset(split.train),
        val=subset(split.val),
        split=split,
        plane=config.plane,
        source="synthetic",
        sigma=float(sigma),
        noise=noise,
        volumes=described,
    )


def from_pairs(first: list[Volume], second: list[Volume], config: N2NConfig) -> N2NTrainingData:
    """Pairs of real noisy acquisitions of the same anatomy; each pair normalised with its first's mapping."""
    if not first:
        raise ConfigError("no training volumes given")
    if len(first) != len(second):
        raise ConfigError(
            f"got {len(first)} first and {len(second)} second acquisitions; give exactly one second per first"
        )
    firsts, second_copies, described, stds = [], [], [], []
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        label = f"pair {i + 1} of {len(first)}"
        check_voxels(require_single(a, label).data, f"{label}, first acquisition")
        check_voxels(b.data, f"{label}, second acquisition")
        check_aligned(a, b, label)
        mapping = Normalisation().fit(a.data, f"{label}, first acquisition")
        firsts.append(mapping.normalise(a.data))
        second_copies.append(mapping.normalise(b.data))
        # The pair's own sigma: what a noise-level-aware network is told (an estimate from one copy alone
        # can be far off on real noise, the pair measures it).
        std = pair_noise_sigma(firsts[-1], second_copies[-1]) or 0.0
        stds.append(std)
        described.append(_describe(a, mapping) | {"noise_std": std, "noise_estimate": "pair"})
    axis = _common_axis(first, config.plane, described)
    # The mean of the two copies has half the noise variance: a steadier test for empty slices.
    kept = [_kept((a + b) / 2, axis, config) for a, b in zip(firsts, second_copies, strict=True)]
    split = _split(kept, axis, config, described)
    return N2NTrainingData(
        train=SlicePairs(
            _take(firsts, split.train, axis, config.context),
            _take(second_copies, split.train, axis, config.context),
            None,
            [stds[v] for v, _ in split.train],
        ),
        val=SlicePairs(
            _take(firsts, split.val, axis, config.context),
            _take(second_copies, split.val, axis, config.context),
            None,
            [stds[v] for v, _ in split.val],
        ),
        split=split,
        plane=config.plane,
        source="pairs",
        sigma=None,
        noise=None,
        volumes=described,
    )


def from_single(
    volumes: list[Volume], config: N2NConfig, clean: list[Volume] | None = None
) -> N2NTrainingData:
    """Single noisy scans, each paired with recorrupted copies of itself at training time (R2R).

    The noise level of each scan is estimated from the scan alone (shared.quality: its air background, else
    its wavelet details) and recorded in the summary. `clean` (synthetic experiments only) adds validation PSNR / RMSE; it never trains.
    """
    if not volumes:
        raise ConfigError("no training volumes given")
    if clean is not None and len(clean) != len(volumes):
        raise ConfigError(f"{len(clean)} clean volume(s) given for {len(volumes)} noisy volume(s)")
    normalised, cleans, stds = [], [], []
    described: list[dict[str, Any]] = [{} for _ in volumes]
    axis = _common_axis(volumes, config.plane, described)
    for i, volume in enumerate(volumes):
        name = f"volume {i}"
        check_voxels(require_single(volume, name).data, name)
        mapping = Normalisation().fit(volume.data, name)
        level = estimate_noise_level(volume.data, mapping, slice_axis=axis, name=name)
        if level.sigma is None or not level.sigma > 0.0:
            raise InvalidVolumeError(
                f"{name}: no noise could be measured in it, so no pair can be made from it by recorruption"
            )
        std = level.sigma / mapping.scale  # on the normalised scale the network sees
        normalised.append(mapping.normalise(volume.data))
        stds.append(std)
        described[i] |= {
            **_describe(volume, mapping),
            "noise_std": std,
            "sigma_255": level.sigma_255,
            "noise_estimate": level.source,
        }
        if clean is not None:
            check_aligned(volume, clean[i], f"volume {i} and its clean reference")
            cleans.append(mapping.normalise(clean[i].data))
    split = _split([_kept(n, axis, config) for n in normalised], axis, config, described)

    def subset(refs: list[tuple[int, int]]) -> SlicePairs:
        return SlicePairs(
            _take(normalised, refs, axis, config.context),
            None,
            _take(cleans, refs, axis, config.context) if clean is not None else None,
            [stds[v] for v, _ in refs],
        )

    return N2NTrainingData(
        train=subset(split.train),
        val=subset(split.val),
        split=split,
        plane=config.plane,
        source="single",
        sigma=None,
        noise=None,
        volumes=described,
    )


def check_aligned(first: Volume, second: Volume, label: str) -> None:
    """Refuse two acquisitions of 'the same anatomy' that differ in shape or geometry."""
    if first.shape != second.shape:
        raise ShapeMismatchError(
            f"{label}: the first acquisition has shape {first.shape} but the second has shape "
            f"{second.shape}; they must match"
        )
    difference = float(np.max(np.abs(first.affine - second.affine)))
    if difference > AFFINE_TOLERANCE:
        raise ShapeMismatchError(
            f"{label}: the two acquisitions have different geometry (affines differ by up to "
            f"{difference:.3g}); they must be voxel-aligned"
        )


def _describe(volume: Volume, mapping: IntensityMapping) -> dict[str, Any]:
    """Shape, spacing and intensity map of one volume, for the summary."""
    return {
        "shape": list(volume.shape),
        "spacing_mm": [round(s, 6) for s in volume.spacing],
        "intensity": mapping.model_dump(),
    }


def _common_axis(volumes: list[Volume], plane: PlaneSetting, described: list[dict[str, Any]]) -> int:
    """The array axis the slices of `plane` lie across, which must be the same in every volume."""
    axes = [slice_axis(v, plane) for v in volumes]
    for i, axis in enumerate(axes):
        if axis != axes[0]:
            raise ShapeMismatchError(
                f"volume {i}: its {plane} slices lie across array axis {axis}, but volume 0's lie across "
                f"axis {axes[0]}; give all volumes in one orientation"
            )
    for volume, record in zip(volumes, described, strict=True):
        record["anatomical_plane"] = plane_of_axis(volume.affine, axes[0])
    return axes[0]


def _kept(normalised: np.ndarray, axis: int, config: N2NConfig) -> list[int]:
    """Slice indices used for the split: those with anatomy, or all; a single 2D image is always kept."""
    every = list(range(normalised.shape[axis]))
    if config.drop_empty and len(every) >= 3:
        return foreground_slices(normalised, axis)
    return every


def _split(
    kept: list[list[int]], axis: int, config: N2NConfig, described: list[dict[str, Any]]
) -> DatasetSplit:
    """Split train / val / test (shared.slices); refuse a volume with no usable slice."""
    for i, indices in enumerate(kept):
        described[i]["kept_slices"] = len(indices)
        if not indices:
            raise InvalidVolumeError(f"volume {i}: no slice across axis {axis} holds anatomy")
    return split_slices(kept, axis, seed=config.seed)


def _take(
    volumes: list[np.ndarray], refs: list[tuple[int, int]], axis: int, context: int
) -> list[np.ndarray]:
    """The slice stacks named by (volume, slice) refs, (2 context + 1, H, W) float32 each."""
    return [context_stack(volumes[v], axis, s, context) for v, s in refs]


_PAIRS: dict[Source, str] = {
    "synthetic": "two noisy copies of each clean volume, drawn with sigma",
    "pairs": "two acquisitions of the same anatomy",
    "single": "each scan with recorrupted copies of itself (R2R, Pang et al. 2021) at its estimated noise level",
}
