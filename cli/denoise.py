"""`fetal-denoise denoise`: denoise one volume file into another, in any supported format."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

import typer

from cli.method_options import build_config, method_option
from cli.progress_bar import progress_bar
from cli.quality_report import print_quality
from cli.reading import read_input
from shared.atomic import atomic_write_text
from shared.errors import ConfigError
from shared.io import write_volume
from shared.io.formats import output_format
from shared.methods import MethodName
from shared.methods.checks import check_output, check_request
from shared.methods.inference import InferenceOptions
from shared.methods.registry import inference_methods, method_spec
from shared.methods.workflow import load_workflow, parse_volumes
from shared.metrics import evaluate
from shared.models.builtin import resolve_model
from shared.slices import PlaneSetting
from shared.volume import check_same_shape


def denoise_command(
    source: Annotated[Path, typer.Argument(help="Noisy volume (NIfTI, DICOM .zip/.dcm/dir, .npy).")],
    out: Annotated[Path, typer.Argument(help="Output; DICOM in gives a derived DICOM series out.")],
    method: Annotated[
        MethodName,
        method_option("n2n (default: the shipped prior) or n2v (fits on SOURCE)."),
    ] = "n2n",
    model: Annotated[
        str | None,
        typer.Option(
            help="Trained model directory (from `train`), or 'prior' (the shipped prior, the n2n default)."
        ),
    ] = None,
    second: Annotated[
        Path | None,
        typer.Option(help="n2n: a second noisy acquisition; predictions on both are averaged (Eq. 3)."),
    ] = None,
    fit: Annotated[
        bool,
        typer.Option(
            "--fit",
            metavar="",
            help="Train on SOURCE (n2n: and --second, or --repeats) first. n2n: fine-tunes the shipped prior "
            "(200 steps unless --epochs/--steps-per-epoch say otherwise); n2v: the default without --model.",
        ),
    ] = False,
    scratch: Annotated[
        bool,
        typer.Option(
            "--scratch",
            metavar="",
            help="n2n --fit: train from random weights instead of the prior (the bigger budget of a scratch fit).",
        ),
    ] = False,
    noise_sigma: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=255.0,
            help="n2n models told the noise level (the prior): SOURCE's noise sigma on the 0-255 scale of its "
            "normalisation. Default: measured (--second's pair sigma, else the estimate `noise-level` prints).",
        ),
    ] = None,
    planes: Annotated[
        Literal["one", "three"],
        typer.Option(
            help="n2n: 'three' denoises across all three axes and averages them (near-isotropic voxels only): "
            "better, three times the time."
        ),
    ] = "one",
    repeats: Annotated[
        bool,
        typer.Option(
            "--repeats",
            metavar="",
            help="n2n fit: SOURCE is a series (4D) of repeated acquisitions; train on consecutive volume pairs.",
        ),
    ] = False,
    volumes: Annotated[
        str | None,
        typer.Option(
            help="n2n fit: only these volumes of the series are repetitions, e.g. 0,1 (counted from 0; implies "
            "--repeats); they pair in this order. Every volume is still denoised.",
        ),
    ] = None,
    plane: Annotated[
        PlaneSetting | None,
        typer.Option(
            help="Fitting: plane of the 2D slices. Default: acquisition, the plane the slices were acquired in."
        ),
    ] = None,
    series_uid: Annotated[
        str | None,
        typer.Option(help="DICOM: the SeriesInstanceUID to read when SOURCE holds several series."),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs when fitting.")] = None,
    steps_per_epoch: Annotated[int | None, typer.Option(help="Steps per epoch when fitting.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed when fitting.")] = None,
    patch_size: Annotated[int | None, typer.Option(help="n2v --fit: patch side.")] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="JSON config for fitting; flags override it.")
    ] = None,
    ground_truth: Annotated[
        Path | None, typer.Option(help="Clean reference: print PSNR/RMSE/SSIM of input and output.")
    ] = None,
    keep_dtype: Annotated[
        bool,
        typer.Option(
            "--keep-dtype",
            metavar="",
            help="Write the input's integer data type (NIfTI, DICOM): values rounded half to even and "
            "clipped to the type's range, through the input's own scaling. Default: float32 (NIfTI).",
        ),
    ] = False,
    quality: Annotated[
        bool,
        typer.Option(
            "--quality",
            metavar="",
            help="Print how good the result is without a reference: the input's noise level, the result's "
            "estimated RMSE / PSNR (SURE; with --second, also the pair estimate) and what was removed.",
        ),
    ] = False,
    quality_json: Annotated[
        Path | None,
        typer.Option(help="Write the quality estimates as JSON to this file (implies --quality)."),
    ] = None,
    residual: Annotated[
        Path | None,
        typer.Option(help="Write what was removed (input - result) to this file, in any supported format."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", metavar="", help="No progress bar.")] = False,
) -> None:
    """Denoise SOURCE into OUT. n2n, the default: with the shipped prior told SOURCE's noise level (seconds),
    or --fit fine-tunes the prior on SOURCE first (with its --second acquisition or --repeats: minutes); n2v
    fits on SOURCE unless given a --model. A 4D series is denoised volume by volume; a fit trains on all of them."""
    output_format(out)  # refuse an unwritable output before any work
    if model is not None and fit:
        raise ConfigError("give either --model DIR (a trained model) or --fit (train on SOURCE), not both")
    spec = method_spec(method)
    options = InferenceOptions(noise_sigma=noise_sigma, planes=planes)
    if not spec.inference_options and options != InferenceOptions():
        raise ConfigError(
            f"--noise-sigma and --planes apply to {inference_methods()} models; {method} takes neither"
        )
    flags = {
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "seed": seed,
        "patch_size": patch_size,
        "plane": plane,
    }
    chosen = parse_volumes(volumes) if volumes is not None else None
    # Any option of a fit asks for one, as on POST /denoise (params, plane, repeats, volumes imply fit).
    fit_options = (
        config_file is not None or repeats or chosen is not None or any(v is not None for v in flags.values())
    )
    if model is not None and fit_options:
        raise ConfigError(
            "--epochs, --steps-per-epoch, --seed, --patch-size, --plane, --repeats, --volumes and --config only "
            "apply when fitting; a --model is used as it was trained"
        )
    fitting = fit or fit_options or (spec.fits_without_model and model is None)
    if scratch and not fitting:
        raise ConfigError("--scratch chooses how --fit starts; give --fit too")
    model_dir = resolve_model(model, method) if not fitting else None
    config = build_config(method, flags, config_file, fit=True, scratch=scratch) if fitting else None
    volume = read_input(source, series_uid=series_uid)
    # The gateway's checks, before any work: the config against the input, the output's format.
    check_request(
        config, [(source.name, volume)], repeats=repeats, volumes=chosen, output=out, keep_dtype=keep_dtype
    )
    if residual is not None:
        check_output(volume, residual, keep_dtype=False)  # a 4D residual to .dcm would fail after the work
    second_volume = read_input(second) if second is not None else None
    reference = None
    if ground_truth is not None:
        reference = read_input(ground_truth)
        check_same_shape(volume, reference, source.name, ground_truth.name)
    workflow = load_workflow(method)
    with (
        tempfile.TemporaryDirectory(prefix="fetal-denoise-fit-") as work,
        progress_bar(not quiet) as progress,
    ):
        denoised = workflow.denoise_volume(
            volume,
            model_dir=model_dir,
            second=second_volume,
            config=config,
            work_dir=Path(work) / "model",
            repeats=repeats,
            volumes=chosen,
            progress=progress,
            options=options,
        )
        report = None
        if quality or quality_json is not None:
            report = workflow.assess(
                volume, denoised, model_dir or Path(work) / "model", second=second_volume, options=options
            )
    written = write_volume(denoised, out, keep_dtype=keep_dtype)
    typer.echo(f"wrote {written}")
    if residual is not None:
        typer.echo(
            f"wrote {write_volume(volume.with_data(volume.data - denoised.data), residual)} (input - result)"
        )
    if report is not None:
        print_quality(report)
        if quality_json is not None:
            atomic_write_text(quality_json, report.model_dump_json(indent=2))
            typer.echo(f"wrote {quality_json}")
    if reference is not None:
        for label, data in (("input", volume.data), ("output", denoised.data)):
            scores = evaluate(data, reference.data).volume
            typer.echo(
                f"{label:>6}: PSNR {scores.psnr:.2f} dB  RMSE {scores.rmse:.5g}  SSIM {scores.ssim:.4f}"
            )
