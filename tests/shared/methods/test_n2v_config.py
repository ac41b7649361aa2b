"""The N2V config (shared.methods.n2v): the paper's defaults and refused values."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from shared.errors import ConfigError
from shared.methods import parse_config
from shared.methods.n2v import MAX_DEFAULT_STEPS, N2VConfig


def test_defaults_are_the_papers() -> None:
    """The default config is the paper's 2D 64x64 patches, kernel 3, MSE, batch norm, 150 epochs, n2v's own
    1.5% blind spots, on slices in the plane they were acquired in (the paper's were acquired sagittally)."""
    config = N2VConfig()

    assert (config.dims, config.plane, config.patch_size, config.epochs) == (2, "acquisition", 64, 150)
    assert (config.unet_kern_size, config.unet_n_depth, config.unet_n_first) == (3, 2, 32)
    assert (config.loss, config.batch_norm, config.batch_size, config.lr) == ("mse", True, 16, 4e-4)
    assert (config.n2v_perc_pix, config.manipulator, config.n2v_neighborhood_radius) == (
        1.5,
        "uniform_withCP",
        5,
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"patch_size": 62}, "patch_size 62 must be divisible by 2**unet_n_depth = 4"),
        ({"unet_kern_size": 4}, "unet_kern_size must be odd, got 4"),
        ({"epochs": 0}, "greater than or equal to 1"),
        ({"lr": 0.0}, "greater than 0"),
        ({"dims": 4}, "Input should be 2 or 3"),
        ({"learning_rate": 1e-3}, "Extra inputs are not permitted"),
        ({"n2v_manipulator": "random"}, "Input should be 'uniform_withCP'"),
        ({"struct_n2v_mask": [[0, 1], [1, 0]]}, "struct_n2v_mask must have odd sides"),
        ({"struct_n2v_mask": [[0, 2, 0]]}, "may only hold 0 (visible) and 1 (hidden)"),
        ({"struct_n2v_mask": [[1, 0, 1]], "n2v_manipulator": "median"}, "cannot be used with the 'median'"),
        ({"struct_n2v_mask": [[1, 0, 1]], "n2v2": True}, "cannot be used with the 'median'"),
        ({"n2v2": True, "dims": 3, "patch_size": 32}, "n2v2 (blur-pool) is 2D only"),
        ({"n2v_perc_pix": 0.01, "patch_size": 8}, "gives no blind spot in a 8^2 patch"),
    ],
)
def test_invalid_values_are_refused_with_the_reason(values: dict[str, object], message: str) -> None:
    """Out-of-range or contradictory values raise a ValidationError that says what is wrong."""
    with pytest.raises(ValidationError, match=re.escape(message)):
        N2VConfig(**values)


def test_parse_config_turns_every_problem_into_one_config_error() -> None:
    """parse_config names each bad field in a single ConfigError message."""
    with pytest.raises(ConfigError) as caught:
        parse_config("n2v", {"epochs": 0, "plane": "oblique"})

    assert str(caught.value).startswith("invalid n2v config: ")
    assert "epochs: Input should be greater than or equal to 1" in str(caught.value)
    assert "plane: Input should be 'acquisition', 'sagittal', 'coronal' or 'axial'" in str(caught.value)


def test_n2v2_means_blurpool_no_top_skip_and_median_unless_chosen() -> None:
    """N2V2 switches the median manipulator on, but an explicit manipulator wins."""
    assert N2VConfig(n2v2=True).manipulator == "median"
    assert N2VConfig(n2v2=True, n2v_manipulator="uniform_withCP").manipulator == "uniform_withCP"
    assert N2VConfig().manipulator == "uniform_withCP"


def test_steps_per_epoch_default_sees_each_patch_once_and_is_capped() -> None:
    """Without steps_per_epoch an epoch covers every patch once, at most MAX_DEFAULT_STEPS batches."""
    config = N2VConfig(batch_size=16)

    assert config.resolved_steps(33) == 3
    assert config.resolved_steps(1) == 1
    assert config.resolved_steps(10**6) == MAX_DEFAULT_STEPS
    assert N2VConfig(steps_per_epoch=7).resolved_steps(10**6) == 7
