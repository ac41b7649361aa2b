"""Training batches and the learning-rate schedule: shapes, determinism per epoch, noise redraws."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from services.n2n.batches import crop_shape, epoch_batches, steps_per_epoch
from services.n2n.data import N2NTrainingData, SlicePairs, from_clean, from_single
from services.n2n.train import learning_rate
from shared.errors import ConfigError
from shared.volume import Volume

from .conftest import SIGMA, as_real_pairs, tiny_config


def test_batches_have_the_configured_shape(small_data: N2NTrainingData) -> None:
    """Each step yields (batch, 1, crop, crop) inputs and targets."""
    config = tiny_config(batch_size=3, crop_size=32, steps_per_epoch=4)
    batches = list(epoch_batches(small_data, config, epoch=0))
    assert len(batches) == 4
    for inputs, targets, _ in batches:
        assert inputs.shape == targets.shape == (3, 1, 32, 32)
        assert inputs.dtype == np.float32


def test_one_pass_per_epoch_by_default(small_data: N2NTrainingData) -> None:
    """Without steps_per_epoch, an epoch is one pass over the training slices (the last batch topped up)."""
    config = tiny_config(batch_size=5, steps_per_epoch=None)
    assert steps_per_epoch(small_data, config) == -(-len(small_data.train) // 5)


def test_an_epoch_is_reproducible_and_epochs_differ(small_data: N2NTrainingData) -> None:
    """Epoch e's batches depend only on (seed, e): what a resumed training relies on."""
    config = tiny_config(steps_per_epoch=3)
    again = list(epoch_batches(small_data, config, epoch=1))
    for (a, b, _), (c, d, _) in zip(epoch_batches(small_data, config, epoch=1), again, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    other = next(epoch_batches(small_data, config, epoch=2))[0]
    assert not np.array_equal(other, again[0][0])


def test_fixed_pairs_versus_resampled_noise(small_data: N2NTrainingData) -> None:
    """Fixed pairs reuse the stored noisy copies; resample_noise draws fresh noise every epoch."""
    assert small_data.train.second is not None
    stored = {
        tuple(np.round(stack[0, :4, :4].ravel(), 5))
        for stack in small_data.train.first + small_data.train.second
    }
    whole = tiny_config(crop_size=None, steps_per_epoch=2)
    fixed_inputs = next(epoch_batches(small_data, whole, epoch=0))[0]
    assert all(tuple(np.round(x[0, :4, :4].ravel(), 5)) in stored for x in fixed_inputs)
    fresh = tiny_config(crop_size=None, steps_per_epoch=2, resample_noise=True)
    fresh_inputs = next(epoch_batches(small_data, fresh, epoch=0))[0]
    assert not any(tuple(np.round(x[0, :4, :4].ravel(), 5)) in stored for x in fresh_inputs)


def test_crops_are_clamped_to_small_slices(small_data: N2NTrainingData) -> None:
    """A crop larger than the 48x64 slices is cut down to them."""
    assert crop_shape(small_data, tiny_config(crop_size=128)) == (48, 64)


def test_whole_slices_of_several_shapes_need_a_crop(small_data: N2NTrainingData) -> None:
    """Whole-slice batches need one slice shape; otherwise the user is told to set crop_size."""
    mixed = as_real_pairs(
        small_data,
        SlicePairs(
            [np.zeros((1, 48, 64), np.float32), np.zeros((1, 40, 64), np.float32)],
            [np.zeros((1, 48, 64), np.float32), np.zeros((1, 40, 64), np.float32)],
            None,
        ),
    )
    with pytest.raises(ConfigError) as caught:
        crop_shape(mixed, tiny_config(crop_size=None))
    assert str(caught.value) == (
        "whole-slice training needs training slices of one shape, got 2 shapes (40x64, 48x64); set crop_size"
    )
    with pytest.raises(ConfigError, match="resample_noise needs clean volumes"):
        next(epoch_batches(mixed, tiny_config(resample_noise=True), epoch=0))


def test_learning_rate_constant_by_default_and_ramped_down_on_request() -> None:
    """lr stays at its value (the paper); with rampdown it falls along a cosine towards 0 at the end."""
    constant = tiny_config(lr=1e-3)
    assert {learning_rate(constant, step, 100) for step in range(100)} == {1e-3}
    ramped = tiny_config(lr=1e-3, rampdown=0.5)
    rates = [learning_rate(ramped, step, 100) for step in range(100)]
    assert rates[:50] == [1e-3] * 50
    assert all(later < earlier for earlier, later in itertools.pairwise(rates[50:]))
    assert rates[-1] < 1e-5


@pytest.mark.slow
def test_clean_targets_share_n2n_inputs_and_crops(small_data: N2NTrainingData) -> None:
    """Noise2Clean sees exactly N2N's inputs; each target is the clean crop under its input."""
    noisy = tiny_config(steps_per_epoch=3, targets="noisy")
    clean = tiny_config(steps_per_epoch=3, targets="clean")
    assert small_data.train.clean is not None
    crops = {
        tuple(np.round(stack[0, y : y + 32, x : x + 32].ravel(), 6)): stack
        for stack in small_data.train.clean
        for y in range(stack.shape[1] - 31)
        for x in range(stack.shape[2] - 31)
    }
    for (n2n_in, _, _), (n2c_in, n2c_target, _) in zip(
        epoch_batches(small_data, noisy, epoch=0), epoch_batches(small_data, clean, epoch=0), strict=True
    ):
        np.testing.assert_array_equal(n2n_in, n2c_in)
        for x, y in zip(n2c_in[:, 0], n2c_target[:, 0], strict=True):
            assert tuple(np.round(y.ravel(), 6)) in crops  # a clean crop ...
            assert 0.1 < float(np.std(x - y)) < 0.3  # ... under sigma-50 (0.196) noise: the same window


def test_clean_targets_need_clean_slices(small_data: N2NTrainingData) -> None:
    """Real noisy pairs have no clean slices: Noise2Clean is refused with the reason."""
    pairs = as_real_pairs(small_data)
    with pytest.raises(ConfigError, match=r"targets='clean' \(Noise2Clean\) needs clean volumes"):
        next(epoch_batches(pairs, tiny_config(targets="clean"), epoch=0))


def test_context_slices_are_input_channels_and_the_target_is_the_middle_one(small_mni_volume: Volume) -> None:
    """With context 2 each input is a stack of 5 neighbouring slices; the target is one slice."""
    config = tiny_config(context=2, batch_size=3, steps_per_epoch=2)
    data = from_clean([small_mni_volume], SIGMA, config)
    assert data.train.first[0].shape == (5, 48, 64) and data.train.middle == 2
    inputs, targets, _ = next(epoch_batches(data, config, epoch=0))
    assert inputs.shape == (3, 5, 32, 32) and targets.shape == (3, 1, 32, 32)


def test_a_single_scan_is_paired_with_its_recorrupted_complement(small_mni_volume: Volume) -> None:
    """R2R: input y + a z, target y - z / a, so input - target = z (a + 1 / a) at the scan's noise level."""
    noisy = small_mni_volume.with_data(
        small_mni_volume.data + np.random.default_rng(0).normal(0, SIGMA / 255, small_mni_volume.shape)
    )
    config = tiny_config(batch_size=8, steps_per_epoch=4, recorruption=0.5)
    data = from_single([noisy], config)
    assert data.train.second is None and data.train.noise_std is not None
    std = data.train.noise_std[0]
    differences = np.concatenate(
        [(x[:, 0] - y[:, 0]).ravel() for x, y, _ in epoch_batches(data, config, epoch=0)]
    )
    assert float(np.std(differences)) == pytest.approx(std * (0.5 + 1 / 0.5), rel=0.05)
    # A noise-aware network is told the noise its input carries: the scan's plus alpha z, std sqrt(1 + a^2) x.
    levels = np.concatenate([told for _, _, told in epoch_batches(data, config, epoch=0)])
    np.testing.assert_allclose(levels, std * np.sqrt(1 + 0.5**2), rtol=1e-6)


def test_augmentation_turns_input_and_target_together(small_data: N2NTrainingData) -> None:
    """Augmented crops keep their shapes, and each epoch's augmentation is as reproducible as its crops."""
    config = tiny_config(augment=True, steps_per_epoch=2, targets="clean")
    first, again = list(epoch_batches(small_data, config, 0)), list(epoch_batches(small_data, config, 0))
    for (x, y, _), (x2, y2, _) in zip(first, again, strict=True):
        np.testing.assert_array_equal(x, x2) and np.testing.assert_array_equal(y, y2)
        assert x.shape == (2, 1, 32, 32) and y.shape == (2, 1, 32, 32)
        assert 0.1 < float(np.std(x - y)) < 0.3  # the clean target still lies under its noisy input


def test_batches_carry_the_noise_level_each_input_has(small_data: N2NTrainingData) -> None:
    """A noise-level-aware network is told each input's sigma: the synthetic sigma for pairs of copies, and
    for a recorrupted single scan its own sigma times sqrt(1 + alpha^2) (the input is y + alpha z)."""
    _, _, levels = next(epoch_batches(small_data, tiny_config(batch_size=3, steps_per_epoch=1), epoch=0))
    assert small_data.sigma is not None
    np.testing.assert_allclose(levels, small_data.sigma / 255.0, rtol=1e-6)
