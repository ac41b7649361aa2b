"""Per-volume normalisation to [0, 1] and its exact inverse."""

from __future__ import annotations

import numpy as np
import pytest

from shared.errors import ConstantVolumeError
from shared.intensity import IntensityMapping


def test_normalise_maps_range_to_unit_interval():
    """The minimum maps to 0 and the maximum to 1."""
    data = np.array([[[-200.0, 0.0], [1000.0, 1800.0]]], dtype=np.float32)
    mapping = IntensityMapping.fit(data)
    normalised = mapping.normalise(data)
    assert normalised.min() == 0.0 and normalised.max() == 1.0
    assert (mapping.low, mapping.high) == (-200.0, 1800.0)


def test_denormalise_inverts_normalise(mni_volume):
    """A round trip through the normalised scale returns the original intensities (float32 precision)."""
    data = mni_volume.data * 1234.5 + 17.0
    mapping = IntensityMapping.fit(data)
    back = mapping.denormalise(mapping.normalise(data))
    np.testing.assert_allclose(back, data, rtol=0, atol=1e-3)


def test_mapping_is_json_recordable():
    """The mapping survives a JSON round trip, so a job can store it."""
    mapping = IntensityMapping(low=3.5, high=900.25)
    assert IntensityMapping.model_validate_json(mapping.model_dump_json()) == mapping


def test_constant_volume_is_refused():
    """A constant volume has no range to normalise: a specific error naming it."""
    with pytest.raises(ConstantVolumeError) as info:
        IntensityMapping.fit(np.full((2, 3, 3), 7.0), name="flat.nii.gz")
    assert (
        str(info.value)
        == "flat.nii.gz: every voxel has the value 7; a constant volume has nothing to denoise"
    )
