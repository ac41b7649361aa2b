"""The adapter from our N2V config to n2v's own config object (services.n2v.backend)."""

from __future__ import annotations

import numpy as np
import pytest

from services.n2v.backend import backend_config, backend_mask
from shared.errors import ConfigError
from shared.methods.n2v import N2VConfig


def test_struct_mask_is_applied_in_plane_for_3d() -> None:
    """A 2D structN2V mask becomes a one-plane ZYX mask for a 3D model."""
    mask = [[0, 0, 0], [1, 0, 1], [0, 0, 0]]

    assert backend_mask(N2VConfig(struct_n2v_mask=mask)) == mask
    assert backend_mask(N2VConfig(struct_n2v_mask=mask, dims=3, patch_size=32)) == [mask]


def test_backend_config_maps_every_option_and_keeps_the_exact_statistics() -> None:
    """n2v's config gets our options, and its stored mean/std parse back to the patches' exact float32."""
    rng = np.random.default_rng(0)
    patches = rng.random((20, 32, 32, 1), dtype=np.float32)
    config = N2VConfig(patch_size=32, n2v2=True, loss="mae", unet_n_first=8, steps_per_epoch=3, epochs=2)

    backend = backend_config(config, patches)

    assert backend.is_valid()
    assert (backend.blurpool, backend.skip_skipone, backend.n2v_manipulator) == (True, True, "median")
    assert (backend.train_loss, backend.unet_n_first, backend.n2v_patch_shape) == ("mae", 8, (32, 32))
    assert (backend.train_epochs, backend.train_steps_per_epoch, backend.unet_kern_size) == (2, 3, 3)
    assert np.float32(backend.means[0]) == np.mean(patches[..., 0])
    assert np.float32(backend.stds[0]) == np.std(patches[..., 0])


def test_backend_config_refuses_patches_of_the_wrong_dimensionality() -> None:
    """A 3D config given 2D patches is refused before n2v sees them."""
    with pytest.raises(
        ConfigError, match=r"a 3D config needs SZYXC patches, got an array of shape \(4, 8, 8, 1\)"
    ):
        backend_config(N2VConfig(dims=3, patch_size=32), np.zeros((4, 8, 8, 1), np.float32))


def test_a_rampdown_replaces_n2vs_plateau_halving() -> None:
    """With rampdown the lr follows our cosine; n2v's ReduceLROnPlateau is not also set up."""
    patches = np.random.default_rng(0).random((20, 32, 32, 1), dtype=np.float32)
    assert backend_config(N2VConfig(patch_size=32), patches).train_reduce_lr == {
        "factor": 0.5,
        "patience": 10,
    }
    assert backend_config(N2VConfig(patch_size=32, rampdown=0.3), patches).train_reduce_lr is None
