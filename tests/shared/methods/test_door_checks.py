"""The one door check (shared.methods.checks.check_request): what the worker, the trainer or the writer would
refuse after the work is refused before it, with the same message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.errors import ConfigError, UnsupportedFormatError
from shared.io import write_volume
from shared.methods import parse_config
from shared.methods.checks import check_output, check_request, check_trainable
from shared.methods.n2n import N2NConfig
from shared.methods.n2v import N2VConfig
from shared.volume import Volume


def _volume(frames: int = 1) -> Volume:
    """A 16x32x32 volume, or a series of `frames` of them."""
    rng = np.random.default_rng(0)
    shape = (16, 32, 32) if frames == 1 else (frames, 16, 32, 32)
    return Volume(data=rng.random(shape).astype(np.float32), affine=np.eye(4))


@pytest.mark.parametrize(
    ("volume", "output", "keep_dtype", "error"),
    [
        (_volume(3), "out.dcm", False, UnsupportedFormatError),
        (_volume(), "out.npy", True, ConfigError),
    ],
    ids=["a series to one .dcm", "keep_dtype to .npy"],
)
def test_an_output_the_writer_refuses_is_refused_first_with_its_message(
    volume: Volume, output: str, keep_dtype: bool, error: type[Exception], tmp_path: Path
):
    """The door's refusal is the writer's own, word for word, so the user sees the same thing, only sooner."""
    with pytest.raises(error) as late:
        write_volume(volume, tmp_path / output, keep_dtype=keep_dtype)
    with pytest.raises(error) as early:
        check_request(None, [("scan.nii.gz", volume)], output=tmp_path / output, keep_dtype=keep_dtype)
    assert str(early.value) == str(late.value)


def test_on_the_gateway_the_advice_is_about_the_upload():
    """The gateway's result takes the upload's format: the message says what to upload instead."""
    with pytest.raises(ConfigError) as caught:
        check_output(_volume(), "result.npy", keep_dtype=True, output_named=False)
    assert str(caught.value) == (
        "result.npy: a .npy output is float32; keeping the input's data type needs a NIfTI upload (the result "
        "has the upload's format)"
    )
    with pytest.raises(UnsupportedFormatError) as caught:
        check_output(_volume(2), "result.dcm", keep_dtype=False, output_named=False)
    assert str(caught.value) == (
        "result.dcm: a series of 2 volumes cannot be written as one .dcm file; upload it as a .zip (a DICOM "
        "series), .nii or .nii.gz file (the result has the upload's format)"
    )


@pytest.mark.parametrize(
    ("volume", "output", "keep_dtype"),
    [
        (_volume(), "out.dcm", True),
        (_volume(3), "out.zip", False),
        (_volume(3), "out.nii.gz", True),
        (_volume(), "out.npy", False),
    ],
)
def test_outputs_the_writer_takes_pass(volume: Volume, output: str, keep_dtype: bool):
    """One volume to a .dcm, a series to a zip or NIfTI, float32 to .npy: nothing refused."""
    check_request(None, [("scan.nii.gz", volume)], output=output, keep_dtype=keep_dtype)


def test_clean_targets_need_clean_volumes():
    """Noise2Clean without clean volumes (no sigma) is refused from the config alone, with the trainer's
    message; with clean volumes it passes."""
    config = N2NConfig(targets="clean")
    with pytest.raises(ConfigError) as caught:
        check_request(config, [])
    assert str(caught.value) == (
        "targets='clean' (Noise2Clean) needs clean volumes with synthetic noise; real noisy scans have none"
    )
    check_request(config, [("clean.nii.gz", _volume())], clean=True)
    check_request(N2NConfig(), [("noisy.nii.gz", _volume())])


def test_repeats_need_a_series():
    """repeats pairs the volumes of a series: a single volume is refused before the fit, a series passes."""
    with pytest.raises(ConfigError) as caught:
        check_request(N2NConfig(), [("scan.nii.gz", _volume())], repeats=True)
    assert (
        str(caught.value)
        == "scan.nii.gz: repeats needs a series of at least 2 repeated volumes, got one volume"
    )
    check_request(N2NConfig(), [("series.nii.gz", _volume(2))], repeats=True)


def test_the_trainability_and_volume_checks_run_too():
    """check_request runs the earlier door checks (patch size, chosen volumes) as well."""
    with pytest.raises(ConfigError, match=r"patch_size 64 is larger than the 32x32 slices of scan\.nii\.gz"):
        check_request(N2VConfig(), [("scan.nii.gz", _volume())])
    with pytest.raises(ConfigError, match="there is no volume 5"):
        check_request(N2NConfig(), [("series.nii.gz", _volume(2))], volumes=(0, 5))


def test_a_patch_that_fits_another_plane_names_that_plane():
    """An N2V patch too large for the chosen plane's slices but not for another plane's: the refusal says
    which plane (and --plane) would fit, besides the smaller patch."""
    volume = Volume(data=np.zeros((96, 96, 40), dtype=np.float32), affine=np.eye(4))
    config = parse_config("n2v", {"patch_size": 64, "plane": "coronal"})
    with pytest.raises(ConfigError, match=r"plane 'sagittal' \(--plane sagittal\)"):
        check_trainable(config, volume, "slab.nii.gz")
