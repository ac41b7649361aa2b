"""N2N training data: synthetic pairs from clean volumes, real pairs, normalisation and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from services.n2n.data import N2NTrainingData, from_clean, from_pairs
from shared.errors import ConfigError, InvalidVolumeError, ShapeMismatchError
from shared.intensity import Normalisation
from shared.volume import Volume

from .conftest import SIGMA, tiny_config


def test_synthetic_pairs_carry_noise_of_the_given_sigma(small_data: N2NTrainingData) -> None:
    """Each copy differs from its clean slice by noise of std sigma/255, independently of the other copy."""
    train = small_data.train
    assert train.clean is not None
    first = np.stack(train.first) - np.stack(train.clean)
    second = np.stack(train.second) - np.stack(train.clean)
    assert first.std() == pytest.approx(SIGMA / 255, rel=0.02)
    assert second.std() == pytest.approx(SIGMA / 255, rel=0.02)
    assert abs(np.corrcoef(first.ravel(), second.ravel())[0, 1]) < 0.02


def test_summary_is_json_and_matches_the_split(small_data: N2NTrainingData, small_mni_volume: Volume) -> None:
    """The summary records shapes, spacing, sigma and slice counts consistent with the split itself."""
    summary = json.loads(json.dumps(small_data.summary()))
    assert summary["sigma"] == SIGMA and summary["source"] == "synthetic" and summary["plane"] == "sagittal"
    assert summary["volumes"][0]["shape"] == list(small_mni_volume.shape)
    assert summary["volumes"][0]["spacing_mm"] == [2.0, 2.0, 2.0]
    counts = summary["slices"]
    assert counts == {
        "train": len(small_data.train),
        "val": len(small_data.val),
        "test": len(small_data.split.test),
    }
    assert sum(counts.values()) == summary["volumes"][0]["kept_slices"]
    assert summary["split"]["mode"] == "by_slice_block"
    # Sagittal slices of an RAS volume lie across the array's X axis (axis 2): 48x64 (Z, Y) images.
    assert summary["axis"] == 2 and small_data.train.first[0].shape == (1, 48, 64)
    train_refs = {tuple(r) for r in summary["split"]["train"]}
    assert not train_refs & {tuple(r) for r in summary["split"]["val"] + summary["split"]["test"]}


def test_same_seed_same_data_other_seed_other_noise(small_mni_volume: Volume) -> None:
    """Data are a pure function of the seed: equal fingerprints for one seed, different for another."""
    a = from_clean([small_mni_volume], SIGMA, tiny_config(seed=5))
    b = from_clean([small_mni_volume], SIGMA, tiny_config(seed=5))
    c = from_clean([small_mni_volume], SIGMA, tiny_config(seed=6))
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()
    np.testing.assert_array_equal(a.val.first[0], b.val.first[0])


def test_empty_background_slices_are_dropped(small_mni_volume: Volume) -> None:
    """Slices of pure background are left out unless drop_empty is off."""
    padded = np.zeros((48, 64, 80), dtype=np.float32)
    padded[:, :, 8:72] = small_mni_volume.data
    volume = Volume(data=padded, affine=small_mni_volume.affine)
    kept = from_clean([volume], SIGMA, tiny_config()).summary()
    every = from_clean([volume], SIGMA, tiny_config(drop_empty=False)).summary()
    assert every["volumes"][0]["kept_slices"] == 80
    assert kept["volumes"][0]["kept_slices"] < 80
    assert all(8 <= s < 72 for _, s in kept["split"]["train"] + kept["split"]["val"] + kept["split"]["test"])


def test_real_pairs_share_one_intensity_mapping(small_mni_volume: Volume) -> None:
    """Both copies of a pair are normalised with the first's mapping, so a brighter second stays brighter."""
    rng = np.random.default_rng(0)
    first = small_mni_volume.with_data(small_mni_volume.data + rng.normal(0, 0.05, small_mni_volume.shape))
    second = small_mni_volume.with_data(2.0 * first.data)
    data = from_pairs([first], [second], tiny_config())
    assert data.source == "pairs" and data.sigma is None and data.train.clean is None
    # first on its robust [0, 1] scale; second keeps twice its intensities (affine map of 2x).
    mapping = Normalisation().fit(first.data)
    low, high = mapping.low, mapping.high
    expected = (2.0 * data.train.first[0] * (high - low) + 2.0 * low - low) / (high - low)
    assert data.train.second is not None
    np.testing.assert_allclose(data.train.second[0], expected, atol=1e-4)


def test_pairs_with_different_shapes_are_refused(small_mni_volume: Volume) -> None:
    """A pair whose copies differ in shape is refused, naming the pair."""
    other = Volume(data=small_mni_volume.data[:, :, :60], affine=small_mni_volume.affine)
    with pytest.raises(ShapeMismatchError) as caught:
        from_pairs([small_mni_volume, small_mni_volume], [small_mni_volume, other], tiny_config())
    assert str(caught.value) == (
        "pair 2 of 2: the first acquisition has shape (48, 64, 64) but the second has shape (48, 64, 60); "
        "they must match"
    )


def test_pairs_with_different_geometry_are_refused(small_mni_volume: Volume) -> None:
    """Copies of one shape but another position in space are not the same anatomy voxel for voxel."""
    affine = small_mni_volume.affine.copy()
    affine[0, 3] += 2.0
    shifted = Volume(data=small_mni_volume.data, affine=affine)
    with pytest.raises(ShapeMismatchError) as caught:
        from_pairs([small_mni_volume], [shifted], tiny_config())
    assert str(caught.value) == (
        "pair 1 of 1: the two acquisitions have different geometry (affines differ by up to 2); "
        "they must be voxel-aligned"
    )


def test_unequal_numbers_of_acquisitions_are_refused(small_mni_volume: Volume) -> None:
    """Every first acquisition needs its second."""
    with pytest.raises(ConfigError, match="got 2 first and 1 second acquisitions"):
        from_pairs([small_mni_volume, small_mni_volume], [small_mni_volume], tiny_config())


@pytest.mark.parametrize("sigma", [0.0, -5.0, 300.0])
def test_sigma_out_of_range_is_refused(small_mni_volume: Volume, sigma: float) -> None:
    """Sigma is on the 0-255 scale and must be positive."""
    with pytest.raises(ConfigError, match=r"sigma must be > 0 and <= 255"):
        from_clean([small_mni_volume], sigma, tiny_config())


def test_volumes_in_different_orientations_are_refused(small_mni_volume: Volume) -> None:
    """Sagittal slices must lie across the same array axis in every volume."""
    swapped = np.ascontiguousarray(small_mni_volume.data.transpose(2, 1, 0))
    affine = small_mni_volume.affine[:, [2, 1, 0, 3]]
    other = Volume(data=swapped, affine=affine)
    with pytest.raises(ShapeMismatchError, match="volume 1: its sagittal slices lie across array axis 0"):
        from_clean([small_mni_volume, other], SIGMA, tiny_config())


def test_a_volume_without_anatomy_is_refused(small_mni_volume: Volume) -> None:
    """A volume whose slices are all background cannot be split into train/val/test."""
    data = np.zeros(small_mni_volume.shape, dtype=np.float32)
    data[0, 0, 0] = 1.0
    with pytest.raises(InvalidVolumeError) as caught:
        from_clean([Volume(data=data, affine=small_mni_volume.affine)], SIGMA, tiny_config())
    assert str(caught.value) == "volume 0: no slice across axis 2 holds anatomy"
