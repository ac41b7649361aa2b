"""Where `fetal-denoise train` starts: n2v's tuned settings by default, the paper's with --paper."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shared.io import write_volume
from shared.volume import Volume


@pytest.fixture(scope="module")
def noisy_file(small_mni_volume: Volume, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small MNI block with sigma-20 Gaussian noise."""
    rng = np.random.default_rng(1)
    noisy = small_mni_volume.with_data(
        small_mni_volume.data + rng.normal(0, 20 / 255, small_mni_volume.shape)
    )
    return write_volume(noisy, tmp_path_factory.mktemp("train-defaults") / "noisy.nii.gz")


@pytest.mark.parametrize(
    ("extra", "batch_norm", "rampdown"),
    [((), False, 0.3), (("--paper",), True, 0.0)],
    ids=["tuned-default", "paper"],
)
@pytest.mark.slow
def test_n2v_training_starts_from_the_tuned_settings_and_paper_from_the_papers(
    run_cli, noisy_file: Path, tmp_path: Path, extra: tuple[str, ...], batch_norm: bool, rampdown: float
) -> None:
    """`train --method n2v` trains without batch norm, with the 0.3 lr ramp-down and 1.5% blind spots (what
    `--fit` uses); `--paper` keeps batch norm and n2v's plateau schedule. The model's manifest says which."""
    model = tmp_path / "model"
    result = run_cli(
        "train",
        "--method",
        "n2v",
        "--noisy",
        noisy_file,
        "--out",
        model,
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "4",
        "--patch-size",
        "32",
        "--quiet",
        *extra,
    )
    assert result.code == 0, result.err
    config = json.loads((model / "manifest.json").read_text())["config"]
    assert (config["batch_norm"], config["rampdown"], config["n2v_perc_pix"]) == (batch_norm, rampdown, 1.5)
    assert (config["epochs"], config["patch_size"]) == (1, 32)  # the flags still apply over either start
