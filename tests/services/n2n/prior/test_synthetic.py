"""The generated heads the prior is pretrained on: plausible, reproducible from (seed, index), all different."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from services.n2n.prior.synthetic import BACKGROUND, CSF, GREY, SHAPE, WHITE, SyntheticVolume, generate

ISOTROPIC = (0, 0)
THICK = (0, 1)
"""(seed, index) of an isotropic head and of a thick-slice stack (fixed by the generator's version)."""

pytestmark = pytest.mark.slow  # each head takes seconds to generate


@pytest.fixture(scope="module")
def heads() -> dict[tuple[int, int], SyntheticVolume]:
    """Two generated heads, made once: each takes seconds."""
    return {key: generate(*key) for key in (ISOTROPIC, THICK)}


def test_heads_are_finite_images_in_the_unit_range(heads) -> None:
    for volume in heads.values():
        assert volume.image.dtype == np.float32
        assert np.all(np.isfinite(volume.image))
        assert volume.image.min() >= 0.0 and volume.image.max() <= 1.0
        assert volume.image.max() > 0.5  # a head, not an empty box
        assert volume.labels.shape == volume.image.shape


def test_isotropic_head_has_the_generator_shape(heads) -> None:
    volume = heads[ISOTROPIC]
    assert volume.thick_axis is None
    assert volume.image.shape == SHAPE


def test_thick_slice_stack_is_shorter_along_its_thick_axis_only(heads) -> None:
    volume = heads[THICK]
    assert volume.thick_axis is not None
    axis = volume.thick_axis
    for index, (size, full) in enumerate(zip(volume.image.shape, SHAPE, strict=True)):
        if index == axis:
            assert full // 5 <= size <= full // 2  # blocks of 2-5 slices averaged
        else:
            assert size == full


def test_labels_hold_the_main_tissues(heads) -> None:
    for volume in heads.values():
        present = set(np.unique(volume.labels).tolist())
        assert {BACKGROUND, CSF, GREY, WHITE} <= present
        # The head sits inside the field of view: its border is background, the centre is not.
        assert volume.labels[0, 0, 0] == BACKGROUND
        centre = tuple(n // 2 for n in volume.labels.shape)
        assert volume.labels[centre] != BACKGROUND


def test_same_seed_and_index_give_the_same_volume(heads) -> None:
    """A pure function of (seed, index), whatever the global random state: the manifest's hashes reproduce."""
    torch.manual_seed(12345)
    np.random.seed(54321)
    again = generate(*THICK)
    first = heads[THICK]
    assert again.thick_axis == first.thick_axis
    np.testing.assert_array_equal(again.image, first.image)
    np.testing.assert_array_equal(again.labels, first.labels)
    assert again.sha256() == first.sha256()


def test_different_indices_give_different_heads(heads) -> None:
    first, second = heads[ISOTROPIC], heads[THICK]
    assert first.sha256() != second.sha256()
    assert len(first.sha256()) == 64
    # Different heads, not the same head cut differently: labels of the common box differ too.
    box = tuple(slice(0, min(a, b)) for a, b in zip(first.labels.shape, second.labels.shape, strict=True))
    assert np.mean(first.labels[box] != second.labels[box]) > 0.05


def test_sha256_is_of_the_float32_bytes(heads) -> None:
    volume = heads[ISOTROPIC]
    expected = hashlib.sha256(np.ascontiguousarray(volume.image, dtype=np.float32).tobytes()).hexdigest()
    assert volume.sha256() == expected
