"""N2NConfig: the paper's defaults, ranges, and clear refusals of bad hyper-parameters."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.methods import parse_config as parse_any_config
from shared.methods.n2n import N2NConfig


def parse_config(values: dict[str, object]) -> N2NConfig:
    """An N2N config through the one parser every caller uses."""
    config = parse_any_config("n2n", values)
    assert isinstance(config, N2NConfig)
    return config


def test_defaults_follow_the_paper() -> None:
    """Adam(0.9, 0.99, 1e-8), lr 1e-4 constant, MSE, 150 epochs, sagittal slices."""
    config = N2NConfig()
    assert (config.beta1, config.beta2, config.eps, config.lr) == (0.9, 0.99, 1e-8, 1e-4)
    assert (config.epochs, config.loss, config.rampdown, config.plane) == (150, "mse", 0.0, "acquisition")
    assert config.method == "n2n"


def test_zero_crop_means_whole_slices() -> None:
    """crop_size 0, as a form or the CLI sends it, means whole slices (None)."""
    assert parse_config({"crop_size": 0}).crop_size is None


def test_crop_must_be_a_multiple_of_32() -> None:
    """A crop the U-Net would have to pad is refused with the field named."""
    with pytest.raises(ConfigError) as caught:
        parse_config({"crop_size": 100})
    assert str(caught.value) == (
        "invalid n2n config: crop_size: Value error, crop_size must be a multiple of 32, got 100"
    )


def test_out_of_range_and_unknown_fields_are_refused_together() -> None:
    """Every problem is listed in one ConfigError, unknown fields included."""
    with pytest.raises(ConfigError) as caught:
        parse_config({"epochs": 0, "learning_rate": 0.1})
    assert str(caught.value) == (
        "invalid n2n config: epochs: Input should be greater than or equal to 1; "
        "learning_rate: Extra inputs are not permitted"
    )


def test_tile_overlap_must_leave_room() -> None:
    """An overlap of half the tile or more is refused."""
    with pytest.raises(ConfigError, match=r"tile_overlap must be below half the tile \(128\), got 64"):
        parse_config({"tile": 128, "tile_overlap": 64})


def test_config_round_trips_through_json() -> None:
    """A config survives JSON (what config.json and the checkpoint store)."""
    config = N2NConfig(epochs=3, crop_size=None, loss="l1", rampdown=0.3)
    assert N2NConfig.model_validate_json(config.model_dump_json()) == config
