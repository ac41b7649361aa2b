"""The test's uploads: a small block of the MNI152 template (it ships inside nilearn), two noisy copies, the
first one as a DICOM series zip, and a hostile zip. Noise is added by the project's own CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIGMA = "30"
"""Noise of the uploads, on the 0-255 scale of the normalised range."""
ZIP_SLIP_MEMBER = "../../etc/evil.dcm"


def make_inputs(folder: Path) -> dict[str, Path]:
    """clean, noisy, noisy2 (NIfTI), series (noisy as a DICOM zip) and slip (a zip-slip archive) in `folder`."""
    import nibabel as nib
    from nilearn.datasets import load_mni152_template

    folder.mkdir(parents=True, exist_ok=True)
    template = load_mni152_template(resolution=1)
    # 2 mm, a central 64x64x48 block: real anatomy, seconds to train on.
    small = template.slicer[::2, ::2, ::2]
    x, y, z = small.shape
    block = small.slicer[
        (x - 64) // 2 : (x + 64) // 2, (y - 64) // 2 : (y + 64) // 2, (z - 48) // 2 : (z + 48) // 2
    ]
    paths = {name: folder / file for name, file in _FILES.items()}
    nib.save(nib.Nifti1Image(block.get_fdata().astype("float32"), block.affine), paths["clean"])
    for name, seed in (("noisy", "1"), ("noisy2", "2"), ("series", "1")):
        _cli("noise", str(paths["clean"]), str(paths[name]), "--sigma", SIGMA, "--seed", seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(ZIP_SLIP_MEMBER, b"DICM")
    paths["slip"].write_bytes(buffer.getvalue())
    return paths


_FILES = {
    "clean": "clean.nii.gz",
    "noisy": "noisy.nii.gz",
    "noisy2": "noisy2.nii.gz",
    "series": "noisy_series.zip",
    "slip": "slip.zip",
}


def _cli(*args: str) -> str:
    """Run `fetal-denoise ARGS...` from this checkout; its stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"fetal-denoise {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def input_psnr(paths: dict[str, Path]) -> float:
    """PSNR (whole volume, dB) of the noisy upload against the clean one, as `fetal-denoise evaluate` says."""
    import json

    report = json.loads(_cli("evaluate", str(paths["noisy"]), str(paths["clean"]), "--json"))
    return float(report["psnr"])
