"""N2N inference: whole volumes on their own scale, Eq. 3 with a second copy, tiles, progress."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from services.n2n.inference import predict_slices
from services.n2n.predict import LoadedN2N, denoise, load_model
from shared.errors import ConstantVolumeError, ShapeMismatchError
from shared.intensity import IntensityMapping
from shared.manifest import ModelManifest
from shared.metrics import compare
from shared.progress import Progress
from shared.slices import slice_along, stack_slices
from shared.volume import Volume

pytestmark = pytest.mark.slow

Triplet = tuple[Volume, Volume, Volume]


@pytest.fixture(scope="module")
def loaded(trained: tuple[Path, ModelManifest]) -> LoadedN2N:
    """The shared trained model, loaded once."""
    return load_model(trained[0])


@pytest.fixture(scope="module")
def single(loaded: LoadedN2N, noisy_small: Triplet) -> Volume:
    """Single-copy inference on the first noisy copy, computed once for the tests that compare with it."""
    return denoise(noisy_small[1], loaded)


def _test_slices(volume: Volume, manifest: ModelManifest) -> np.ndarray:
    """The slices of the split's test set, never seen in training."""
    axis = manifest.data["axis"]
    return np.stack([np.take(volume.data, s, axis=axis) for _, s in manifest.data["split"]["test"]])


def _psnr(reference: np.ndarray, prediction: np.ndarray) -> float:
    """PSNR on the normalised scale (MAX = 1)."""
    return compare(reference, prediction, data_range=1.0).psnr


def test_denoising_beats_the_noisy_input_on_test_slices(
    single: Volume, trained: tuple[Path, ModelManifest], noisy_small: Triplet
) -> None:
    """On slices held out of training, the denoised volume is clearly closer to the clean one."""
    clean, noisy, _ = noisy_small
    denoised = single
    manifest = trained[1]
    reference = _test_slices(clean, manifest)
    assert (
        _psnr(reference, _test_slices(denoised, manifest))
        > _psnr(reference, _test_slices(noisy, manifest)) + 3
    )


def test_output_has_the_inputs_shape_geometry_and_scale(
    loaded: LoadedN2N, single: Volume, noisy_small: Triplet
) -> None:
    """Each volume is normalised with its own mapping: the same anatomy in other units comes back in them."""
    _, noisy, _ = noisy_small
    in_units = noisy.with_data(noisy.data * 1000.0 + 50.0)
    denoised = denoise(in_units, loaded)
    assert denoised.shape == noisy.shape
    np.testing.assert_array_equal(denoised.affine, noisy.affine)
    # bf16 autocast (CUDA) rounds the two runs' slightly different float inputs apart a little more.
    from services.n2n.device import inference_uses_bf16

    tolerance = 1e-2 if inference_uses_bf16(loaded.device) else 1e-4
    np.testing.assert_allclose((denoised.data - 50.0) / 1000.0, single.data, atol=tolerance)


def test_model_directory_path_works_like_a_loaded_model(
    single: Volume, trained: tuple[Path, ModelManifest], noisy_small: Triplet
) -> None:
    """denoise accepts the model directory itself."""
    np.testing.assert_array_equal(denoise(noisy_small[1], trained[0]).data, single.data)


def test_second_copy_averages_both_predictions_eq3(
    loaded: LoadedN2N, single: Volume, noisy_small: Triplet
) -> None:
    """With a second acquisition the result is the mean of both predictions (Eq. 3), both copies on the
    first's intensity mapping, and it is closer to the clean volume than single-copy inference."""
    clean, first, second = noisy_small
    both = denoise(first, loaded, second=second)
    # The second copy goes through the network on the FIRST copy's mapping, then both are averaged.
    mapping = IntensityMapping.robust(first.data)
    on_second = predict_slices(
        loaded.network,
        slice_along(mapping.normalise(second.data), 2),
        batch_size=8,
        tile=512,
        overlap=64,
        amp=loaded.config.amp,
    )
    expected = (single.data + mapping.denormalise(stack_slices(on_second, 2))) / 2
    np.testing.assert_allclose(both.data, expected, atol=1e-4)
    assert _psnr(clean.data, both.data) > _psnr(clean.data, single.data) + 0.5


def test_second_copy_of_another_shape_is_refused(loaded: LoadedN2N, noisy_small: Triplet) -> None:
    """Eq. 3 needs voxel-aligned copies."""
    _, first, second = noisy_small
    cropped = Volume(data=second.data[:, :, :60], affine=second.affine)
    with pytest.raises(ShapeMismatchError) as caught:
        denoise(first, loaded, second=cropped)
    assert str(caught.value) == (
        "input and second acquisition: the first acquisition has shape (48, 64, 64) but the second has "
        "shape (48, 64, 60); they must match"
    )


def test_constant_volume_is_refused(loaded: LoadedN2N, noisy_small: Triplet) -> None:
    """A constant volume has no intensity range to normalise."""
    with pytest.raises(ConstantVolumeError, match="input: every voxel has the value 3"):
        denoise(noisy_small[0].with_data(np.full((48, 64, 64), 3.0)), loaded)


def test_progress_counts_slices_of_both_copies(loaded: LoadedN2N, noisy_small: Triplet) -> None:
    """Prediction reports slices done out of all slices to predict, ending at fraction 1."""
    _, first, second = noisy_small
    events: list[Progress] = []
    denoise(first, loaded, second=second, progress=events.append, batch_size=16)
    assert {e.stage for e in events} == {"predicting"}
    assert [e.step for e in events] == [16, 32, 48, 64, 80, 96, 112, 128]
    assert events[-1].fraction == 1.0 and events[-1].steps == 128


def test_tiled_inference_agrees_with_whole_slices(loaded: LoadedN2N, mni_volume: Volume) -> None:
    """Slices above the tile size go through in blended overlapping tiles with nearly the same result."""
    block = mni_volume.data[40:136, 50:178, 90:93]
    noisy = block + np.random.default_rng(1).normal(0, 0.1, block.shape).astype(np.float32)
    volume = Volume(data=noisy, affine=mni_volume.affine)
    tiled_model = dataclasses.replace(
        loaded, config=loaded.config.model_copy(update={"tile": 64, "tile_overlap": 24})
    )
    whole = denoise(volume, loaded).data
    tiled = denoise(volume, tiled_model).data
    assert not np.array_equal(whole, tiled)  # the tiled path really ran
    assert compare(whole, tiled, data_range=float(np.ptp(whole))).psnr > 35.0


def test_one_hot_voxel_changes_nothing_far_from_it(
    loaded: LoadedN2N, single: Volume, noisy_small: Triplet
) -> None:
    """Robust scaling: a voxel of 131070 in a corner (as in a real b0 volume) leaves the rest of the output as
    it was; with min-max scaling it rescaled every voxel (the output mean moved by 73 %)."""
    noisy = noisy_small[1]
    hot = noisy.data.copy()
    hot[0, 0, 0] = 131070.0
    out = denoise(noisy.with_data(hot), loaded).data
    far = np.ones(noisy.shape, bool)
    far[:, :, 0] = False  # the hot voxel's own sagittal slice: the U-Net sees the whole slice
    scale = float(np.ptp(single.data))
    # bfloat16 inference (a CPU with native bf16, or CUDA) rounds the two runs apart by up to ~1 % of the range.
    from services.n2n.device import inference_uses_bf16

    bf16 = inference_uses_bf16(loaded.device)
    assert float(np.max(np.abs(out[far] - single.data[far]))) < (1e-2 if bf16 else 1e-3) * scale
    assert abs(float(out[far].mean()) / float(single.data[far].mean()) - 1) < (1e-3 if bf16 else 1e-4)
