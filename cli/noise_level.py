"""`fetal-denoise noise-level`: how noisy a scan is, from the scan alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.reading import read_input
from shared.intensity import HIGH_PERCENTILE, LOW_PERCENTILE, IntensityMapping, Normalisation
from shared.quality import NoiseLevel, estimate_noise_level
from shared.quality.background_noise import BackgroundNoiseEstimate
from shared.quality.local_noise import LocalNoiseEstimate
from shared.quality.wavelet_noise import WaveletNoiseEstimate
from shared.slices import acquisition_axis

SOURCE_NAMES = {
    "background": "the air background",
    "wavelet": "the wavelet estimate",
    "local": "the flattest blocks of the anatomy (the noise is spatially correlated: the wavelet estimate misses it)",
}


def _sigma(sigma: float, standard_error: float | None, sigma_255: float | None) -> str:
    """'0.0784 +- 0.0002 (12.8/255)': a sigma in volume units with its error and its 0-255 figure."""
    spread = f" +- {standard_error:.2g}" if standard_error is not None else ""
    return f"{sigma:.4g}{spread} ({sigma_255:.2f}/255)"


def _background_line(estimate: BackgroundNoiseEstimate) -> str:
    if estimate.sigma is None:
        return f"  background: unavailable: {estimate.reason}"
    air = "Rayleigh (magnitude image)" if estimate.distribution == "rayleigh" else "Gaussian"
    return (
        f"  background: {_sigma(estimate.sigma, estimate.standard_error, estimate.sigma_255)}; "
        f"{air} air, {estimate.background_voxels} voxels ({estimate.background_fraction:.1%} of the volume)"
    )


def _wavelet_line(estimate: WaveletNoiseEstimate) -> str:
    if estimate.sigma is None:
        return f"  wavelet:    unavailable: {estimate.reason}"
    return (
        f"  wavelet:    {_sigma(estimate.sigma, estimate.standard_error, estimate.sigma_255)}; median of "
        f"{estimate.slices_used} of {estimate.slices_total} slices across axis {estimate.slice_axis}"
    )


def _local_line(estimate: LocalNoiseEstimate) -> str:
    if estimate.sigma is None:
        return f"  local:      unavailable: {estimate.reason}"
    return f"  local:      {_sigma(estimate.sigma, None, estimate.sigma_255)}; median of {estimate.blocks_used} flat blocks"


def _range_name(mapping: IntensityMapping) -> str:
    """Which intensity range the 0-255 scale is, in words."""
    if mapping.kind == "percentiles":
        return f"{LOW_PERCENTILE:g}-{HIGH_PERCENTILE:g} percentile range"
    return "min-max range"


def report_lines(
    name: str, shape: tuple[int, ...], mapping: IntensityMapping, level: NoiseLevel
) -> list[str]:
    """The human-readable report: the preferred sigma first, then both estimates or why one is missing."""
    lines = [
        f"{name}: shape {'x'.join(map(str, shape))}; 0-255 scale: its {_range_name(mapping)}, "
        f"{mapping.low:.4g} to {mapping.high:.4g} (width {mapping.scale:.4g}), as the methods normalise it"
    ]
    if level.sigma is None or level.sigma_255 is None or level.source is None:
        lines.append("noise sigma: unavailable (no estimate applies)")
    else:
        lines.append(
            f"noise sigma {level.sigma:.4g} ({level.sigma_255:.2f} on the 0-255 scale), "
            f"from {SOURCE_NAMES[level.source]}"
        )
    return [
        *lines,
        _background_line(level.background),
        _wavelet_line(level.wavelet),
        _local_line(level.local),
    ]


def noise_level_command(
    volume: Annotated[Path, typer.Argument(help="The noisy scan (NIfTI, DICOM .zip/.dcm/dir, .npy).")],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", metavar="", help="Print JSON instead of text: one object, or a list for a 4D series."
        ),
    ] = False,
    slice_axis: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=2,
            help="Array axis (Z=0, Y=1, X=2) the 2D slices are taken across. Default: the acquisition axis, the "
            "one `denoise` and its quality report measure along, so the figures agree.",
        ),
    ] = None,
) -> None:
    """Estimate the noise sigma of VOLUME from its air background, its wavelet details and its flattest blocks.

    In the volume's units and on the 0-255 scale of its intensity range; a missing estimate says why.
    """
    scan = read_input(volume)
    reports = []
    for index, frame in enumerate(scan.frames()):
        name = f"{volume.name}, frame {index}" if scan.is_series else volume.name
        mapping = Normalisation().fit(frame.data, name=name)
        axis = acquisition_axis(frame) if slice_axis is None else slice_axis
        level = estimate_noise_level(frame.data, mapping=mapping, slice_axis=axis, name=name)
        reports.append((name, frame.shape, mapping, level))
    if as_json:
        dumped = [level.model_dump(mode="json") for *_, level in reports]
        typer.echo(json.dumps(dumped if scan.is_series else dumped[0], indent=2))
        return
    for name, shape, mapping, level in reports:
        for line in report_lines(name, shape, mapping, level):
            typer.echo(line)
