"""`fetal-denoise train`: train an N2N or N2V model from volume files into a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.method_options import build_config, method_option
from cli.progress_bar import progress_bar
from cli.reading import read_input
from shared.errors import ConfigError
from shared.methods import MethodName
from shared.methods.checks import check_request
from shared.methods.workflow import load_workflow, parse_volumes
from shared.noise import check_sigma
from shared.slices import PlaneSetting

VOLUMES_HELP = "repeat the option or list several files after it"


def train_command(
    method: Annotated[
        MethodName,
        method_option("n2n (pairs) or n2v (single noisy volumes)."),
    ],
    out: Annotated[Path, typer.Option(help="Model directory to write (weights, config, manifest).")],
    clean: Annotated[
        list[Path] | None, typer.Option(help=f"Clean volumes, noised with --sigma ({VOLUMES_HELP}).")
    ] = None,
    noisy: Annotated[list[Path] | None, typer.Option(help=f"Noisy volumes ({VOLUMES_HELP}).")] = None,
    noisy2: Annotated[
        list[Path] | None,
        typer.Option(
            help=f"n2n: a second noisy acquisition of each --noisy volume, same order ({VOLUMES_HELP})."
        ),
    ] = None,
    sigma: Annotated[
        float | None,
        typer.Option(help="Synthetic noise sigma (0-255 scale, > 0 and <= 255) for --clean volumes."),
    ] = None,
    rician: Annotated[
        bool, typer.Option("--rician", metavar="", help="Synthetic Rician instead of Gaussian noise.")
    ] = False,
    repeats: Annotated[
        bool,
        typer.Option(
            "--repeats",
            metavar="",
            help="n2n: each --noisy file is a series (4D) of repeated acquisitions; train on consecutive pairs.",
        ),
    ] = False,
    volumes: Annotated[
        str | None,
        typer.Option(
            help="n2n: only these volumes of each --noisy series are repetitions, e.g. 0,1 (counted from 0; "
            "implies --repeats); they pair in this order.",
        ),
    ] = None,
    plane: Annotated[
        PlaneSetting | None,
        typer.Option(
            help="Plane of the 2D slices. Default: acquisition, the plane the slices were acquired in."
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs (default 150, the paper).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Images or patches per step.")] = None,
    steps_per_epoch: Annotated[int | None, typer.Option(help="Optimiser steps per epoch.")] = None,
    lr: Annotated[float | None, typer.Option(help="Adam learning rate.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of weights, split, noise and sampling.")] = None,
    crop_size: Annotated[
        int | None, typer.Option(help="n2n: random crop side (multiple of 32; 0 = whole).")
    ] = None,
    patch_size: Annotated[int | None, typer.Option(help="n2v: patch side.")] = None,
    dims: Annotated[int | None, typer.Option(help="n2v: 2 (slices) or 3 (ZYX patches).")] = None,
    n2v2: Annotated[
        bool | None, typer.Option("--n2v2", metavar="", help="n2v: train N2V2 (blur-pool, no top skip).")
    ] = None,
    paper: Annotated[
        bool,
        typer.Option(
            "--paper",
            metavar="",
            help="Start from the paper's settings (n2v: batch norm and n2v's plateau lr schedule) instead of "
            "the tuned defaults (n2v: no batch norm, a 30% lr ramp-down, 1.5% blind spots).",
        ),
    ] = False,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config", help="JSON file with any config fields, over the defaults; flags override it."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", metavar="", help="Continue the checkpoint in --out.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", metavar="", help="No progress bar.")] = False,
) -> None:
    """Train a model: n2n from --clean + --sigma, --noisy + --noisy2 pairs or --noisy series with --repeats; n2v
    from --noisy (or --clean + --sigma). A 4D file counts as one training volume per volume it holds."""
    flags = {
        "epochs": epochs,
        "batch_size": batch_size,
        "steps_per_epoch": steps_per_epoch,
        "lr": lr,
        "seed": seed,
        "crop_size": crop_size,
        "patch_size": patch_size,
        "dims": dims,
        "n2v2": n2v2,
        "plane": plane,
    }
    config = build_config(method, flags, config_file, paper=paper)
    chosen = parse_volumes(volumes) if volumes is not None else None
    sources = _check_sources(clean, noisy, noisy2, sigma)
    check_request(config, [], clean=sigma is not None)  # what the config alone decides, before any read
    inputs = [read_input(path) for path in sources]
    # Every refusal the trainer would make for this config and these volumes, before any work (the gateway's).
    check_request(
        config,
        [(path.name, volume) for path, volume in zip(sources, inputs, strict=True)],
        clean=sigma is not None,
        repeats=repeats,
        volumes=chosen,
    )
    second_acquisitions = [read_input(path) for path in noisy2] if noisy2 else None
    workflow = load_workflow(method)
    with progress_bar(not quiet) as progress:
        manifest = workflow.train_model(
            config,
            inputs,
            out,
            sigma=sigma,
            second_acquisitions=second_acquisitions,
            repeats=repeats,
            volumes=chosen,
            noise="rician" if rician else "gaussian",
            progress=progress,
            resume=resume,
        )
    summary = ", ".join(f"{k} {v:.4g}" for k, v in manifest.validation.items() if isinstance(v, int | float))
    typer.echo(f"model written to {out} ({method}; validation: {summary or 'n/a'})")


def _check_sources(
    clean: list[Path] | None, noisy: list[Path] | None, noisy2: list[Path] | None, sigma: float | None
) -> list[Path]:
    """The training inputs, refusing contradictory combinations before any volume is read."""
    if bool(clean) == bool(noisy):
        raise ConfigError("give training volumes with either --clean (and --sigma) or --noisy")
    if clean and sigma is None:
        raise ConfigError("--clean volumes need --sigma, the synthetic noise level (0-255 scale)")
    if noisy and sigma is not None:
        raise ConfigError("--sigma applies to --clean volumes; --noisy volumes already carry their noise")
    if sigma is not None:
        check_sigma(sigma)
    if noisy2 and not noisy:
        raise ConfigError("--noisy2 pairs with --noisy volumes")
    if noisy and noisy2 and len(noisy) != len(noisy2):
        raise ConfigError(
            f"--noisy has {len(noisy)} volume(s) but --noisy2 has {len(noisy2)}; pair them one to one"
        )
    return list(clean or noisy or [])
