"""The quality estimates of a result, printed for a person (`denoise --quality`)."""

from __future__ import annotations

import typer

from shared.quality.assessment import QualityReport


def _or_dash(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def print_quality(report: QualityReport) -> None:
    """A few lines: noise level, estimated error, pair estimate, what was removed, and the caveats."""
    noise = report.noise
    if report.model is not None:
        used = report.model
        told = used.noise_told
        weights = f" (weights sha256 {used.weights_sha256[:12]})" if used.weights_sha256 else ""
        if used.started_from:
            what = f"the {used.started_from['model']} fine-tuned on the input{weights}"
        else:
            what = f"the shipped prior{weights}" if used.model == "prior" else f"{used.model}{weights}"
        typer.echo(f"model: {what}")
        if told is not None:
            typer.echo(
                f"noise level it was told: {told.sigma:.5g} ({told.sigma_255:.2f} on the 0-255 scale), {told.source}"
            )
    typer.echo(
        f"noise sigma: {_or_dash(report.noise_sigma, '.5g')} ({_or_dash(report.noise_sigma_255, '.2f')} on the "
        f"0-255 scale), from the {noise.source or 'no'} estimate"
    )
    if report.sure is not None and report.rmse_estimate is not None and report.psnr_estimate is not None:
        uncertainty = f" +/- {report.rmse_uncertainty:.3g}" if report.rmse_uncertainty is not None else ""
        typer.echo(
            f"estimated error of the result (SURE, over the anatomy): RMSE {report.rmse_estimate:.5g}{uncertainty}, "
            f"PSNR {report.psnr_estimate:.2f} dB on a range of {report.data_range:.5g}"
        )
        if report.gain_estimate_db is not None:
            typer.echo(
                f"against the input (PSNR {report.input_psnr_estimate:.2f} dB by its noise level): "
                f"{report.gain_estimate_db:+.2f} dB"
            )
    elif report.sure is not None:
        typer.echo("estimated error of the result: no valid estimate (see the warning)")
    else:
        typer.echo("estimated error of the result: not available (no noise level could be estimated)")
    if report.pair is not None:
        typer.echo(
            f"pair estimate (prediction from the first copy, against the second): RMSE {report.pair.rmse:.5g}, "
            f"PSNR {report.pair.psnr:.2f} dB; noise of one copy from the pair {report.pair.pair_noise_sigma:.5g}"
        )
    if report.residual is not None:
        residual = report.residual
        typer.echo(
            f"what was removed: sd {residual.residual_std:.5g} = {residual.std_ratio:.2f} x the noise sigma "
            f"(about 1: noise; well above 1: signal too); correlation with the result "
            f"{_or_dash(residual.correlation, '.3f')} (0: no structure left in it)"
        )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
