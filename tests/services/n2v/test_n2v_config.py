"""The N2V config: the paper's defaults, refused values, and its translation to n2v's config."""

from __future__ import annotations

import re

import numpy as np
import pytest
from pydantic import ValidationError

from services.n2v.config import MAX_DEFAULT_STEPS, N2VConfig, parse_config
from shared.errors import ConfigError


def test_defaults_are_the_papers() -> None:
    """The default config is 2D sagittal 64x64 patches, kernel 3, MSE, batch norm, 150 epochs."""
    config = N2VConfig()

    assert (config.dims, config.plane, config.patch_size, config.epochs) == (2, "sagittal", 64, 150)
    assert (config.unet_kern_size, config.unet_n_depth, config.unet_n_first) == (3, 2, 32)
    assert (config.loss, config.batch_norm, config.batch_size, config.lr) == ("mse", True, 16, 4e-4)
    assert (config.n2v_perc_pix, config.manipulator, config.n2v_neighborhood_radius) == (
        0.198,
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
        parse_config({"epochs": 0, "plane": "oblique"})

    assert str(caught.value).startswith("invalid n2v config: ")
    assert "epochs: Input should be greater than or equal to 1" in str(caught.value)
    assert "plane: Input should be 'sagittal', 'coronal' or 'axial'" in str(caught.value)


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


def test_struct_mask_is_applied_in_plane_for_3d() -> None:
    """A 2D structN2V mask becomes a one-plane ZYX mask for a 3D model."""
    mask = [[0, 0, 0], [1, 0, 1], [0, 0, 0]]

    assert N2VConfig(struct_n2v_mask=mask).backend_mask() == mask
    assert N2VConfig(struct_n2v_mask=mask, dims=3, patch_size=32).backend_mask() == [mask]


def test_to_n2v_config_maps_every_option_and_keeps_the_exact_statistics() -> None:
    """n2v's config gets our options, and its stored mean/std parse back to the patches' exact float32."""
    rng = np.random.default_rng(0)
    patches = rng.random((20, 32, 32, 1), dtype=np.float32)
    config = N2VConfig(patch_size=32, n2v2=True, loss="mae", unet_n_first=8, steps_per_epoch=3, epochs=2)

    backend = config.to_n2v_config(patches)

    assert backend.is_valid()
    assert (backend.blurpool, backend.skip_skipone, backend.n2v_manipulator) == (True, True, "median")
    assert (backend.train_loss, backend.unet_n_first, backend.n2v_patch_shape) == ("mae", 8, (32, 32))
    assert (backend.train_epochs, backend.train_steps_per_epoch, backend.unet_kern_size) == (2, 3, 3)
    assert np.float32(backend.means[0]) == np.mean(patches[..., 0])
    assert np.float32(backend.stds[0]) == np.std(patches[..., 0])


def test_to_n2v_config_refuses_patches_of_the_wrong_dimensionality() -> None:
    """A 3D config given 2D patches is refused before n2v sees them."""
    with pytest.raises(
        ConfigError, match=r"a 3D config needs SZYXC patches, got an array of shape \(4, 8, 8, 1\)"
    ):
        N2VConfig(dims=3, patch_size=32).to_n2v_config(np.zeros((4, 8, 8, 1), np.float32))


def test_a_rampdown_replaces_n2vs_plateau_halving() -> None:
    """With rampdown the lr follows our cosine; n2v's ReduceLROnPlateau is not also set up."""
    patches = np.random.default_rng(0).random((20, 32, 32, 1), dtype=np.float32)
    assert N2VConfig(patch_size=32).to_n2v_config(patches).train_reduce_lr == {"factor": 0.5, "patience": 10}
    assert N2VConfig(patch_size=32, rampdown=0.3).to_n2v_config(patches).train_reduce_lr is None
