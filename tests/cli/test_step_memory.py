"""`fetal-denoise train` refuses a config one step of which would not fit a worker's memory
(WORKER_MEMORY_BYTES), as the gateway does: exit 2 naming what fits, before reading or training."""

from __future__ import annotations

import json
from pathlib import Path

from shared.io import write_volume
from shared.volume import Volume


def test_a_step_larger_than_a_worker_is_refused_naming_what_fits(
    run_cli, small_mni_volume: Volume, tmp_path: Path
):
    scan = write_volume(small_mni_volume, tmp_path / "scan.nii.gz")
    config = tmp_path / "huge.json"
    config.write_text(json.dumps({"batch_size": 512, "epochs": 1, "steps_per_epoch": 1}), encoding="utf-8")
    out = tmp_path / "model"
    result = run_cli("train", "--method", "n2n", "--noisy", scan, "--out", out, "--config", config, "--quiet")
    assert result.code == 2, result.err
    assert "one training step of this n2n config needs about" in result.err
    assert "(WORKER_MEMORY_BYTES)" in result.err and "batch_size <= " in result.err
    assert not out.exists()
