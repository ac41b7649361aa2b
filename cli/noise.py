"""`fetal-denoise noise`: add seeded synthetic noise to a volume, as in the paper's protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from cli.reading import read_input
from shared.intensity import IntensityMapping
from shared.io import write_volume
from shared.io.formats import output_format
from shared.noise import add_noise, check_sigma


def noise_command(
    source: Annotated[Path, typer.Argument(help="Clean input volume (NIfTI, DICOM .zip/.dcm/dir, .npy).")],
    out: Annotated[Path, typer.Argument(help="Noisy output; its extension picks the format.")],
    sigma: Annotated[
        float, typer.Option(help="Noise sigma on a 0-255 scale of the volume's range: > 0 and <= 255.")
    ] = 20.0,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same noise.")] = 0,
    rician: Annotated[
        bool, typer.Option("--rician", metavar="", help="Rician (magnitude) noise instead of Gaussian.")
    ] = False,
) -> None:
    """Add Gaussian (or Rician) noise of SIGMA/255 of the input's intensity range, not clipped."""
    check_sigma(sigma)
    output_format(out)  # refuse an unwritable output before any work
    volume = read_input(source)
    mapping = IntensityMapping.min_max(volume.data, name=source.name)
    noisy = add_noise(
        mapping.normalise(volume.data), sigma, np.random.default_rng(seed), "rician" if rician else "gaussian"
    )
    written = write_volume(
        volume.with_data(mapping.denormalise(noisy)), out, description=f"noise sigma {sigma:g}"
    )
    typer.echo(f"wrote {written} (sigma {sigma:g}/255 of [{mapping.low:g}, {mapping.high:g}], seed {seed})")
