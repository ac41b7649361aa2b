"""Fixtures of the N2N tests: small training data from the real MNI152 template, and one trained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.n2n.data import N2NTrainingData, SlicePairs, from_clean
from services.n2n.train import train
from shared.manifest import ModelManifest
from shared.methods.n2n import N2NConfig
from shared.volume import Volume

SIGMA = 50.0
"""Noise of the tests, on the 0-255 scale: strong, so a short training shows a clear gain."""


def as_real_pairs(data: N2NTrainingData, train: SlicePairs | None = None) -> N2NTrainingData:
    """`data` as if made from real noisy pairs: no clean slices, no sigma (optionally other training slices)."""
    train = train or SlicePairs(data.train.first, data.train.second, None)
    return N2NTrainingData(
        train=train,
        val=SlicePairs(data.val.first, data.val.second, None),
        split=data.split,
        plane="sagittal",
        source="pairs",
        sigma=None,
        noise=None,
        volumes=[],
    )


def tiny_config(**changes: object) -> N2NConfig:
    """A config that trains in a few seconds on the CPU: a few steps of small crops."""
    values: dict[str, object] = {
        "epochs": 2,
        "batch_size": 2,
        "crop_size": 32,
        "steps_per_epoch": 2,
        "lr": 1e-3,
        "plane": "sagittal",  # the paper's protocol; the acquisition-plane default has tests of its own
    }
    values.update(changes)
    return N2NConfig.model_validate(values)


@pytest.fixture(scope="session")
def small_data(small_mni_volume: Volume) -> N2NTrainingData:
    """Synthetic N2N pairs (sigma 50) from the small real MNI152 block, split by slice blocks."""
    return from_clean([small_mni_volume], SIGMA, tiny_config())


TRAINED_CONFIG = N2NConfig(
    epochs=4, batch_size=8, crop_size=32, steps_per_epoch=15, lr=1e-3, plane="sagittal"
)


@pytest.fixture(scope="session")
def trained(small_mni_volume: Volume, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelManifest]:
    """One short real training on the small MNI152 block, shared by the training and inference tests."""
    out_dir = tmp_path_factory.mktemp("n2n-model")
    data = from_clean([small_mni_volume], SIGMA, TRAINED_CONFIG)
    return out_dir, train(TRAINED_CONFIG, data, out_dir)


@pytest.fixture(scope="session")
def noisy_small(small_mni_volume: Volume) -> tuple[Volume, Volume, Volume]:
    """(clean, noisy copy 1, noisy copy 2) of the small MNI152 block at sigma 50, normalised to [0, 1]."""
    from shared.intensity import IntensityMapping
    from shared.noise import noisy_pair

    clean = IntensityMapping.min_max(small_mni_volume.data).normalise(small_mni_volume.data)
    first, second = noisy_pair(clean, SIGMA, np.random.default_rng(123))
    return (
        small_mni_volume.with_data(clean),
        small_mni_volume.with_data(first),
        small_mni_volume.with_data(second),
    )
