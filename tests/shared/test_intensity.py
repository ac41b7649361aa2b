"""Per-volume normalisation: robust percentiles for the methods, min-max for the paper's noise protocol."""

from __future__ import annotations

import numpy as np
import pytest

from shared.errors import ConstantVolumeError
from shared.intensity import HIGH_PERCENTILE, LOW_PERCENTILE, IntensityMapping


def test_min_max_maps_the_range_to_the_unit_interval():
    """The minimum maps to 0 and the maximum to 1."""
    data = np.array([[[-200.0, 0.0], [1000.0, 1800.0]]], dtype=np.float32)
    mapping = IntensityMapping.min_max(data)
    normalised = mapping.normalise(data)
    assert normalised.min() == 0.0 and normalised.max() == 1.0
    assert (mapping.low, mapping.high, mapping.kind) == (-200.0, 1800.0, "min-max")


@pytest.mark.slow
def test_robust_maps_percentiles_and_ignores_outlier_voxels(mni_volume):
    """One hot voxel (as in a real b0 volume) moves neither end of the robust mapping; min-max it rescales."""
    data = mni_volume.data * 2000.0
    hot = data.copy()
    hot[0, 0, 0] = 131070.0
    clean_map, hot_map = IntensityMapping.robust(data), IntensityMapping.robust(hot)
    assert clean_map.kind == "percentiles"
    assert (clean_map.low, clean_map.high) == pytest.approx((hot_map.low, hot_map.high), rel=1e-6)
    assert (clean_map.low, clean_map.high) == pytest.approx(
        tuple(np.percentile(data, [LOW_PERCENTILE, HIGH_PERCENTILE]))
    )
    assert IntensityMapping.min_max(hot).high == 131070.0


def test_robust_falls_back_to_min_max_when_the_percentiles_coincide():
    """An image that is almost all one value still gets a usable range from its extremes."""
    data = np.zeros((10, 100, 100), dtype=np.float32)
    data[0, 0, :5] = 10.0
    assert IntensityMapping.robust(data) == IntensityMapping(low=0.0, high=10.0, kind="min-max")


@pytest.mark.parametrize("fit", [IntensityMapping.min_max, IntensityMapping.robust])
@pytest.mark.slow
def test_denormalise_inverts_normalise(mni_volume, fit):
    """A round trip through the normalised scale returns the original intensities (float32 precision)."""
    data = mni_volume.data * 1234.5 + 17.0
    mapping = fit(data)
    back = mapping.denormalise(mapping.normalise(data))
    np.testing.assert_allclose(back, data, rtol=0, atol=1e-3)


def test_mapping_is_json_recordable():
    """The mapping survives a JSON round trip, so a job and a manifest can store it."""
    mapping = IntensityMapping(low=3.5, high=900.25, kind="percentiles")
    assert IntensityMapping.model_validate_json(mapping.model_dump_json()) == mapping


@pytest.mark.parametrize("fit", [IntensityMapping.min_max, IntensityMapping.robust])
def test_constant_volume_is_refused(fit):
    """A constant volume has no range to normalise: a specific error naming it."""
    with pytest.raises(ConstantVolumeError) as info:
        fit(np.full((2, 3, 3), 7.0), name="flat.nii.gz")
    assert (
        str(info.value)
        == "flat.nii.gz: every voxel has the value 7; a constant volume has nothing to denoise"
    )
