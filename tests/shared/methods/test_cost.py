"""The cost of one training step (shared.methods.cost): estimated from the config, checked at the door
against the worker's memory, refused naming the largest settings that fit."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest

from shared.errors import ConfigError
from shared.methods import FIT_DEFAULTS, TRAIN_DEFAULTS, fit_config, train_config
from shared.methods.checks import check_request
from shared.methods.cost import step_memory
from shared.methods.n2n import N2NConfig
from shared.settings import GIB, get_settings
from shared.volume import Volume

LIMIT = 8 * GIB  # WORKER_MEMORY_BYTES's default

ISSUE_EXAMPLES = [
    ("n2v", {"batch_size": 1024}, "batch_size"),
    ("n2v", {"batch_size": 1024, "unet_n_first": 256, "unet_n_depth": 5}, "unet_n_first"),
    ("n2v", {"unet_n_first": 256, "unet_n_depth": 5}, "unet_n_first"),
    ("n2n", {"batch_size": 512}, "batch_size"),
]
"""Issue 23: one-step fits that killed their worker for memory on every try (its N2V example read as one
config of batch 1,024, 256 first filters and depth 5, and as each of its parts that the estimate judges too
large for 8 GiB; 256 filters alone (about 3.1 GiB) or depth 5 alone (about 1.6 GiB) at the default batch and
patch fit a worker of 8 GiB and are accepted)."""


@pytest.fixture(autouse=True)
def worker_memory() -> Iterator[None]:
    """Every test sees the default limit, whatever the environment says."""
    settings = get_settings()
    saved = settings.WORKER_MEMORY_BYTES
    settings.WORKER_MEMORY_BYTES = LIMIT
    yield
    settings.WORKER_MEMORY_BYTES = saved


def _fits(config: object, field: str, value: int) -> bool:
    changed = config.model_copy(update={field: value})  # type: ignore[attr-defined]
    return step_memory(changed).needed_bytes <= LIMIT


@pytest.mark.parametrize(("method", "values", "field"), ISSUE_EXAMPLES)
def test_the_issues_steps_that_killed_workers_are_refused_naming_what_fits(
    method: str, values: dict[str, int], field: str
):
    """Refused before any work, naming the estimate, the limit and the largest value of a setting that
    fits: that value does fit, one more does not."""
    config = fit_config(method, {**values, "epochs": 1, "steps_per_epoch": 1})  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as refused:
        check_request(config, [])
    message = str(refused.value)
    assert f"one training step of this {method} config needs about" in message
    assert "more than a worker's 8.0 GiB (WORKER_MEMORY_BYTES)" in message
    named = re.search(rf"{field} <= (\d+)", message)
    assert named is not None, message
    largest = int(named.group(1))
    assert _fits(config, field, largest) and not _fits(config, field, largest + 1)


@pytest.mark.parametrize("method", ["n2n", "n2v"])
def test_the_defaults_are_accepted(method: str):
    """Every default a fit or training starts from fits the default worker, with room to spare."""
    volume = Volume(data=np.zeros((16, 256, 256), np.float32), affine=np.eye(4))
    for config in (
        fit_config(method, {}),  # type: ignore[arg-type]
        train_config(method, {}),  # type: ignore[arg-type]
        train_config(method, {}, paper=True),  # type: ignore[arg-type]
    ):
        check_request(config, [("scan.nii.gz", volume)])
        assert step_memory(config).needed_bytes < LIMIT / 2
    assert FIT_DEFAULTS[method] is not None and TRAIN_DEFAULTS[method] is not None


@pytest.mark.parametrize(
    ("method", "field"), [("n2n", "batch_size"), ("n2v", "batch_size"), ("n2v", "unet_n_first")]
)
def test_the_estimate_grows_with_batch_and_filters(method: str, field: str):
    config = fit_config(method, {})  # type: ignore[arg-type]
    costs = [step_memory(config.model_copy(update={field: n})).step_bytes for n in (8, 16, 32, 64)]
    assert costs == sorted(costs) and len(set(costs)) == 4


def test_the_estimate_grows_with_the_patch_and_its_depth():
    """Patch area, and the third side of a 3D patch, count like the batch."""
    small, large = fit_config("n2v", {"patch_size": 32}), fit_config("n2v", {"patch_size": 64})
    flat, deep = fit_config("n2v", {"patch_size": 32}), fit_config("n2v", {"patch_size": 32, "dims": 3})
    assert step_memory(small).activation_bytes * 3 < step_memory(large).activation_bytes
    assert step_memory(flat).activation_bytes * 16 < step_memory(deep).activation_bytes


def test_n2n_on_whole_slices_is_judged_by_the_slices_it_will_get():
    """Without crops, N2N trains on whole slices: the inputs' slice size decides, and the refusal says how
    large a crop would fit."""
    config = fit_config("n2n", {"crop_size": 0, "batch_size": 64})
    assert isinstance(config, N2NConfig) and config.crop_size is None
    check_request(config, [])  # no slices known yet: judged with the inputs
    small = Volume(data=np.zeros((8, 64, 64), np.float32), affine=np.eye(4))
    check_request(config, [("small.nii.gz", small)])
    large = Volume(data=np.zeros((8, 1024, 1024), np.float32), affine=np.eye(4))
    with pytest.raises(ConfigError, match=r"crop_size <= \d+"):
        check_request(config, [("large.nii.gz", large)])


def test_a_larger_worker_accepts_what_a_smaller_refuses():
    config = fit_config("n2n", {"batch_size": 512})
    get_settings().WORKER_MEMORY_BYTES = 64 * GIB
    check_request(config, [])


@pytest.mark.parametrize("context", [0, 2])
def test_the_n2n_estimate_counts_the_u_net_the_worker_trains(context: int):
    """The estimate's parameters are the N2N U-Net's (services/n2n/model.py): a change of the network that
    the estimate does not follow fails here, not in a worker killed for memory."""
    pytest.importorskip("torch")
    from services.n2n.model import network_for, parameter_count

    config = fit_config("n2n", {"context": context})
    assert isinstance(config, N2NConfig)
    assert step_memory(config).parameters == parameter_count(network_for(config))
