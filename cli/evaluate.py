"""`fetal-denoise evaluate`: PSNR, RMSE and SSIM of a prediction against a reference volume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.reading import read_input
from shared.metrics import MetricsReport, evaluate


def report_json(report: MetricsReport) -> dict:
    """The evaluate command's JSON: whole-volume values at the top, the slice mean and each slice below."""
    dumped = json.loads(report.model_dump_json())
    return {
        **dumped["volume"],
        "slice_mean": dumped["slice_mean"],
        "data_range": dumped["data_range"],
        "slice_axis": dumped["slice_axis"],
        "per_slice": dumped["per_slice"],
    }


def evaluate_command(
    prediction: Annotated[Path, typer.Argument(help="The denoised (or noisy) volume to score.")],
    reference: Annotated[Path, typer.Argument(help="The clean reference volume.")],
    as_json: Annotated[
        bool, typer.Option("--json", metavar="", help="Print one JSON object instead of a table.")
    ] = False,
    slice_axis: Annotated[
        int, typer.Option(min=0, max=2, help="Array axis (Z=0, Y=1, X=2) for per-slice values.")
    ] = 0,
) -> None:
    """Score PREDICTION against REFERENCE on the reference's data range (max - min)."""
    predicted = read_input(prediction)
    ref = read_input(reference)
    report = evaluate(predicted.data, ref.data, slice_axis=slice_axis)
    if as_json:
        typer.echo(json.dumps(report_json(report), indent=2))
        return
    typer.echo(
        f"data range (MAX) {report.data_range:g}; {len(report.per_slice)} slices across axis {slice_axis}"
    )
    typer.echo(f"{'aggregation':<22}{'PSNR (dB)':>10}{'RMSE':>12}{'SSIM':>8}")
    for label, values in (("whole volume", report.volume), ("mean of slices", report.slice_mean)):
        typer.echo(f"{label:<22}{values.psnr:>10.2f}{values.rmse:>12.5f}{values.ssim:>8.4f}")
