"""A small N2N training in a process of its own, for the test that kills it with SIGKILL.

Usage: python tests/services/n2n/train_worker.py VOLUME.npz OUT_DIR CONFIG_JSON SIGMA DEVICE [--resume]
It prints "epoch N" (flushed) after each completed epoch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from services.n2n.data import from_clean
from services.n2n.train import train
from shared.methods.n2n import N2NConfig
from shared.progress import Progress
from shared.volume import Volume


def _report(event: Progress) -> None:
    """Announce each completed epoch on stdout."""
    if event.val_loss is not None:
        print(f"epoch {event.epoch}", flush=True)


def main(argv: list[str]) -> None:
    """Load the volume, build the data, train (or resume) into OUT_DIR."""
    volume_path, out_dir, config_json, sigma, device = argv[:5]
    with np.load(volume_path, allow_pickle=False) as arrays:
        volume = Volume(data=arrays["data"], affine=arrays["affine"])
    config = N2NConfig.model_validate_json(config_json)
    data = from_clean([volume], float(sigma), config)
    train(config, data, Path(out_dir), progress=_report, resume="--resume" in argv, device=device)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
