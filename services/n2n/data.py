"""Noise2Noise training data: normalised 2D slice pairs for training and validation, and their split.

Two sources, as in the issue: clean volumes plus synthetic noise of a given sigma (the paper's protocol),
or pairs of real noisy acquisitions of the same anatomy. A clean volume is normalised by its min-max range,
on which the paper defines sigma; a real pair by the robust percentile mapping (shared.intensity) fitted on
its first copy and applied to both, so they stay comparable and a hot voxel rescales nothing. Test slices are only named in the split (benchmarks gather them); they are never loaded here.
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
from shared.noise import NoiseKind, check_sigma, noisy_pair
from shared.slices import (
    DatasetSplit,
    PlaneSetting,
    foreground_slices,
    plane_of_axis,
    slice_axis,
    split_slices,
)
from shared.volume import Volume, check_voxels, require_single

AFFINE_TOLERANCE = 1e-3
"""Two acquisitions are voxel-aligned when their affines agree to this (mm, or mm per voxel)."""

# Distinct streams of one seed, so changing one use of randomness never shifts another.
NOISE_TRAIN_STREAM = 1
NOISE_VAL_STREAM = 2


@dataclass(frozen=True, eq=False)
class SlicePairs:
    """Normalised 2D slices of one subset: two noisy copies of each and, when known, the clean slice."""

    first: list[np.ndarray]
    second: list[np.ndarray]
    clean: list[np.ndarray] | None

    def __len__(self) -> int:
        return len(self.first)


@dataclass(frozen=True, eq=False)
class N2NTrainingData:
    """Everything a Noise2Noise training reads: slice pairs, the split, and how they were made."""

    train: SlicePairs
    val: SlicePairs
    split: DatasetSplit
    plane: PlaneSetting
    source: Literal["synthetic", "pairs"]
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
            for group in (subset.first, subset.second, subset.clean or []):
                for image in group:
                    digest.update(np.ascontiguousarray(image).tobytes())
        return digest.hexdigest()


def from_clean(
    volumes: list[Volume], sigma: float, config: N2NConfig, noise: NoiseKind = "gaussian"
) -> N2NTrainingData:
    """The paper's protocol: two independent noisy copies (sigma on the 0-255 scale) of each clean slice.

    The training pairs are drawn once from `config.seed` (fixed, as in the paper); with
    `config.resample_noise` the trainer draws fresh ones every epoch from the clean slices kept here.
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
    train_clean = _take(normalised, split.train, axis)
    val_clean = _take(normalised, split.val, axis)
    return N2NTrainingData(
        train=_noisy(train_clean, sigma, noise, np.random.default_rng([config.seed, NOISE_TRAIN_STREAM])),
        val=_noisy(val_clean, sigma, noise, np.random.default_rng([config.seed, NOISE_VAL_STREAM])),
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
    firsts, seconds, described = [], [], []
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        label = f"pair {i + 1} of {len(first)}"
        check_voxels(require_single(a, label).data, f"{label}, first acquisition")
        check_voxels(b.data, f"{label}, second acquisition")
        check_aligned(a, b, label)
        mapping = Normalisation().fit(a.data, f"{label}, first acquisition")
        firsts.append(mapping.normalise(a.data))
        seconds.append(mapping.normalise(b.data))
        described.append(_describe(a, mapping))
    axis = _common_axis(first, config.plane, described)
    # The mean of the two copies has half the noise variance: a steadier test for empty slices.
    kept = [_kept((a + b) / 2, axis, config) for a, b in zip(firsts, seconds, strict=True)]
    split = _split(kept, axis, config, described)
    return N2NTrainingData(
        train=SlicePairs(_take(firsts, split.train, axis), _take(seconds, split.train, axis), None),
        val=SlicePairs(_take(firsts, split.val, axis), _take(seconds, split.val, axis), None),
        split=split,
        plane=config.plane,
        source="pairs",
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


def _take(volumes: list[np.ndarray], refs: list[tuple[int, int]], axis: int) -> list[np.ndarray]:
    """The 2D slices named by (volume, slice) refs, as contiguous float32 arrays."""
    return [np.ascontiguousarray(np.take(volumes[v], s, axis=axis), dtype=np.float32) for v, s in refs]


def _noisy(clean: list[np.ndarray], sigma: float, noise: NoiseKind, rng: np.random.Generator) -> SlicePairs:
    """Two independent noisy copies of each clean slice, drawn in order from `rng`."""
    pairs = [noisy_pair(image, sigma, rng, noise) for image in clean]
    return SlicePairs([p[0] for p in pairs], [p[1] for p in pairs], clean)
