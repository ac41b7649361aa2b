"""2D slices from volumes, and the train / validation / test split that a benchmark records.

The paper trained on 2D sagittal slices, split 80/10/10 by patient. With three or more volumes we split
by volume, so no slice of a test volume is ever seen in training. With one or two volumes that is
impossible, so we split by contiguous blocks of slices instead.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shared.foreground import FRACTION, foreground_fractions, foreground_level
from shared.io.orientation import axis_codes
from shared.volume import Volume

Plane = Literal["sagittal", "coronal", "axial"]
PlaneSetting = Literal["acquisition", "sagittal", "coronal", "axial"]
"""What a config asks for: an anatomical plane, or the plane the slices were acquired in (the default)."""
_PLANE_AXIS_CODES: dict[Plane, set[str]] = {
    "sagittal": {"L", "R"},
    "coronal": {"A", "P"},
    "axial": {"S", "I"},
}
THICK_SLICE_RATIO = 1.2
"""An axis whose voxels are this much longer than every other axis's is the slice axis (thick 2D slices)."""
_DICOM_FORMATS = {"dicom", "dicom-zip", "dicom-dir"}
LARGEST_SLICES_SHARE = 0.9
"""Without a thick axis, Z is kept as the slice axis while its slices hold at least 90 % of the largest's voxels."""


def plane_axis(affine: np.ndarray, plane: Plane) -> int:
    """Array axis (of a (Z, Y, X) volume) across which slices lie in the given anatomical plane."""
    codes = axis_codes(affine)
    for voxel_axis, code in enumerate(codes):
        if code in _PLANE_AXIS_CODES[plane]:
            return 2 - voxel_axis  # voxel axes are (x, y, z); array axes are (z, y, x)
    raise ValueError(f"cannot find the {plane} axis in an affine with axis codes {codes}")


def plane_of_axis(affine: np.ndarray, axis: int) -> Plane:
    """The anatomical plane of the slices that lie across array `axis` (the nearest, for oblique volumes)."""
    code = axis_codes(affine)[2 - axis]
    return next(plane for plane, codes in _PLANE_AXIS_CODES.items() if code in codes)


def acquisition_axis(volume: Volume) -> int:
    """The array axis across which the volume's 2D slices were acquired.

    A single 2D image (an axis of length 1) is its own slice. A DICOM series is read slice by slice along
    its slice normal, so its slices lie across axis 0 (Z).
    Otherwise (NIfTI, .npy) the voxel sizes tell: an axis whose voxels are clearly the longest
    (THICK_SLICE_RATIO) is the slice axis of a stack of thick slices, e.g. 0.8 x 0.8 x 4 mm fetal stacks
    in whatever plane; with no such axis, the file's own slice axis, Z (NIfTI's third voxel axis, along
    which converters such as dcm2niix store the acquired slices), unless another axis's slices are clearly
    larger (LARGEST_SLICES_SHARE): then that one, so an isotropic slab is sliced into its large faces.
    """
    single = [axis for axis, n in enumerate(volume.frame_shape) if n == 1]
    if single:  # a single 2D image: its one slice
        return single[0]
    if volume.source_format in _DICOM_FORMATS:
        return 0
    spacing = volume.spacing
    thickest = int(np.argmax(spacing))
    others = [s for axis, s in enumerate(spacing) if axis != thickest]
    if spacing[thickest] >= THICK_SLICE_RATIO * max(others):
        return thickest
    # No thick axis: Z, unless its slices are clearly smaller than another axis's (an isotropic slab stored
    # with its short side as x, e.g. 30 x 217 x 181 voxels, would give 217 x 30 slices no patch fits).
    shape = volume.frame_shape
    areas = [int(np.prod([n for a, n in enumerate(shape) if a != axis])) for axis in range(3)]
    largest = int(np.argmax(areas))
    return 0 if areas[0] >= LARGEST_SLICES_SHARE * areas[largest] else largest


def slice_axis(volume: Volume, plane: PlaneSetting) -> int:
    """The array axis a 2D method slices `volume` across: its acquisition axis, or an anatomical plane's."""
    if plane == "acquisition":
        return acquisition_axis(volume)
    return plane_axis(volume.affine, plane)


def slice_along(data: np.ndarray, axis: int) -> np.ndarray:
    """All 2D slices across `axis`, stacked as (N, H, W)."""
    return np.moveaxis(np.asarray(data), axis, 0)


def context_stack(data: np.ndarray, axis: int, index: int, context: int) -> np.ndarray:
    """Slice `index` across `axis` with its `context` neighbours on either side, as (2 context + 1, H, W).

    The slice is in the middle; beyond the volume's ends the end slice repeats, so every slice has a full
    stack (a single 2D image is its own neighbours).
    """
    count = data.shape[axis]
    picks = np.clip(np.arange(index - context, index + context + 1), 0, count - 1)
    return np.ascontiguousarray(np.moveaxis(np.take(data, picks, axis=axis), axis, 0), dtype=np.float32)


def stack_slices(slices: np.ndarray, axis: int) -> np.ndarray:
    """Inverse of `slice_along`: put (N, H, W) slices back as a volume sliced across `axis`."""
    return np.moveaxis(np.asarray(slices), 0, axis)


def foreground_slices(normalised: np.ndarray, axis: int) -> list[int]:
    """Indices of the slices across `axis` that hold anatomy rather than background (noise-robust)."""
    fraction = foreground_fractions(slice_along(normalised, axis), foreground_level(normalised))
    return [int(i) for i in np.flatnonzero(fraction >= FRACTION)]


class DatasetSplit(BaseModel):
    """Which slices of which volumes went to training, validation and test; JSON-recordable."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["by_volume", "by_slice_block", "unsplit"] = Field(
        description="Split whole volumes (3+ volumes), contiguous slice blocks (fewer), or nothing: too few "
        "slices to hold any out (a single 2D image), so validation sees the training slices."
    )
    axis: int = Field(ge=0, le=2, description="Array axis (Z=0, Y=1, X=2) the 2D slices lie across.")
    seed: int = Field(description="Seed of the volume shuffle (by_volume).")
    train: list[tuple[int, int]] = Field(description="(volume index, slice index) pairs for training.")
    val: list[tuple[int, int]] = Field(description="(volume index, slice index) pairs for validation.")
    test: list[tuple[int, int]] = Field(description="(volume index, slice index) pairs for testing.")


def _counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Sizes of (train, val, test) for n items, at least one each when n >= 3."""
    if n < 3:
        raise ValueError(f"need at least 3 items to split into train/val/test, got {n}")
    n_val = max(1, round(n * fractions[1]))
    n_test = max(1, round(n * fractions[2]))
    return n - n_val - n_test, n_val, n_test


def split_slices(
    kept: list[list[int]],
    axis: int,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> DatasetSplit:
    """Split the kept slice indices of each volume into train / val / test.

    `kept[v]` lists the slice indices of volume v to use. Fewer than three volumes of which one has fewer
    than three slices (a single 2D image): nothing can be held out, so every slice is both trained and
    validated on (mode 'unsplit'). Three or more volumes: whole volumes are
    shuffled with `seed` and assigned. Otherwise each volume's slices are cut into contiguous blocks laid
    out train | val | test | train, so validation and test come from the middle of the volume, where the
    anatomy is, rather than from its nearly empty ends.
    """
    if len(kept) < 3 and min(len(indices) for indices in kept) < 3:
        every = [(v, s) for v, indices in enumerate(kept) for s in indices]
        return DatasetSplit(mode="unsplit", axis=axis, seed=seed, train=every, val=every, test=[])
    if len(kept) >= 3:
        order = [int(v) for v in np.random.default_rng(seed).permutation(len(kept))]
        n_train, n_val, _ = _counts(len(kept), fractions)
        groups = order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]
        subsets = [[(v, s) for v in sorted(group) for s in kept[v]] for group in groups]
        return DatasetSplit(
            mode="by_volume", axis=axis, seed=seed, train=subsets[0], val=subsets[1], test=subsets[2]
        )
    train: list[tuple[int, int]] = []
    val: list[tuple[int, int]] = []
    test: list[tuple[int, int]] = []
    for v, indices in enumerate(kept):
        _, n_val, n_test = _counts(len(indices), fractions)
        start = (len(indices) - n_val - n_test) // 2
        val_end = start + n_val
        test_end = val_end + n_test
        train += [(v, s) for s in indices[:start] + indices[test_end:]]
        val += [(v, s) for s in indices[start:val_end]]
        test += [(v, s) for s in indices[val_end:test_end]]
    return DatasetSplit(mode="by_slice_block", axis=axis, seed=seed, train=train, val=val, test=test)


def gather(volumes: list[np.ndarray], refs: list[tuple[int, int]], axis: int) -> np.ndarray:
    """The 2D slices named by (volume, slice) refs, stacked as (N, H, W) float32.

    All referenced volumes must share the in-plane shape across `axis`.
    """
    if not refs:
        return np.zeros((0, 0, 0), dtype=np.float32)
    return np.stack([np.take(volumes[v], s, axis=axis) for v, s in refs]).astype(np.float32)
