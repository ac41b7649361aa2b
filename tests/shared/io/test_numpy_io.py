"""NumPy .npy volumes: 2D and 3D arrays, never a pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.errors import EmptyVolumeError, InvalidVolumeError, NonFiniteVoxelsError, UnreadableVolumeError
from shared.io import read_volume, write_volume
from shared.volume import Volume


def test_3d_array_round_trip(tmp_path: Path, small_mni_volume: Volume):
    """A (Z, Y, X) array reads as itself with an identity affine, and writes back as float32."""
    path = tmp_path / "volume.npy"
    np.save(path, (small_mni_volume.data * 255).astype(np.uint8))

    volume = read_volume(path)
    assert volume.shape == small_mni_volume.shape
    assert np.array_equal(volume.affine, np.eye(4))
    assert np.array_equal(volume.data, (small_mni_volume.data * 255).astype(np.uint8))
    out = np.load(write_volume(volume, tmp_path / "out.npy"))
    assert out.dtype == np.float32 and np.array_equal(out, volume.data)


def test_2d_array_is_one_slice_and_comes_back_2d(tmp_path: Path, small_mni_volume: Volume):
    """A (Y, X) array is a volume of one slice; written back it is 2D again."""
    plane = small_mni_volume.data[10]
    path = tmp_path / "slice.npy"
    np.save(path, plane)

    volume = read_volume(path)
    assert volume.shape == (1, *plane.shape)
    assert np.load(write_volume(volume, tmp_path / "out.npy")).shape == plane.shape


class _TouchOnUnpickle:
    """An object whose unpickling creates a file: proof that a pickle was (not) loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_object_arrays_are_refused_without_unpickling(tmp_path: Path):
    """A pickled object array is refused from its header; its pickle is never run."""
    marker = tmp_path / "unpickled"
    path = tmp_path / "evil.npy"
    np.save(path, np.array([_TouchOnUnpickle(marker), None], dtype=object), allow_pickle=True)
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "evil.npy: holds dtype object, not numbers; only numeric arrays are read (never pickles)"
    )
    assert not marker.exists()


def test_4d_arrays_are_refused(tmp_path: Path):
    """Only 2D and 3D arrays are volumes."""
    path = tmp_path / "four.npy"
    np.save(path, np.ones((2, 3, 4, 5), dtype=np.float32))
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "four.npy: a 4D array (shape (2, 3, 4, 5)); expected 2D (Y, X) or 3D (Z, Y, X)"
    )


def test_nan_and_inf_voxels_are_refused(tmp_path: Path):
    """NaN or infinite voxels cannot be denoised and are counted in the message."""
    data = np.ones((3, 8, 8), dtype=np.float32)
    data[0, 0, 0], data[2, 3, 4] = np.nan, np.inf
    path = tmp_path / "nan.npy"
    np.save(path, data)
    with pytest.raises(NonFiniteVoxelsError) as caught:
        read_volume(path)
    assert str(caught.value) == "nan.npy: 2 voxel(s) are NaN or infinite"


def test_an_empty_array_is_refused(tmp_path: Path):
    """A zero-size array has no voxels to denoise."""
    path = tmp_path / "empty.npy"
    np.save(path, np.zeros((0, 8, 8), dtype=np.float32))
    with pytest.raises(EmptyVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == "empty.npy: the volume has no voxels (shape (0, 8, 8))"
