"""`fetal-denoise pretrain`: train the noise-level-aware prior on generated heads (resumable)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def pretrain_command(
    out: Annotated[
        Path, typer.Option(help="Model directory to write (checkpointed after every epoch).")
    ] = Path("runs/prior"),
    epochs: Annotated[
        int | None, typer.Option(min=1, help="Epochs (default: the shipped prior's, 20).")
    ] = None,
    steps_per_epoch: Annotated[int | None, typer.Option(min=1, help="Steps per epoch (default 300).")] = None,
    train_volumes: Annotated[
        int | None, typer.Option(min=1, help="Generated heads to train on (default 120).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed of heads, noise, crops and weights (default 0).")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue the checkpoint in --out (the one resume rule).")
    ] = False,
    cache: Annotated[
        Path | None,
        typer.Option(help="Where generated heads are kept (default ~/.cache/fetal-denoise/synthetic)."),
    ] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="CPU threads (default: torch's choice).")] = None,
    told_share: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Share of crops told a jittered noise level (default 0.35)."),
    ] = None,
    told_spread: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=2.0,
            help="Spread of the log of the told level's jitter (default 0.12; 0.35 for robustness).",
        ),
    ] = None,
    lr: Annotated[float | None, typer.Option(min=0.0, help="Learning rate (default 5e-4).")] = None,
    start_from: Annotated[
        Path | None,
        typer.Option(
            help="Start from this model directory's weights (e.g. shared/models/prior), not at random."
        ),
    ] = None,
    ship: Annotated[
        bool, typer.Option(help="When done, copy the result into the package as the shipped prior.")
    ] = False,
) -> None:
    """Pretrain the prior the service denoises with by default: the N2N U-Net told the noise level, on
    generated heads with synthetic noise (never the benchmark's volumes). About 65 minutes on 2 CPU cores (5 generating the heads)."""
    import torch

    from services.n2n.prior.pretrain import PretrainConfig, pretrain
    from services.n2n.prior.shipped import ship_prior

    if threads is not None:
        torch.set_num_threads(threads)
    given = {
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "train_volumes": train_volumes,
        "seed": seed,
        "told_share": told_share,
        "told_spread": told_spread,
        "lr": lr,
        "start_from": None if start_from is None else str(start_from),
    }
    config = PretrainConfig(**{key: value for key, value in given.items() if value is not None})
    import shlex
    import sys

    manifest = pretrain(
        config,
        out,
        resume=resume,
        cache=cache,
        workers=threads or 2,
        log=lambda line: typer.echo(line),
        command=shlex.join(["fetal-denoise", *sys.argv[1:]]),
    )
    best = manifest.validation
    typer.echo(
        f"prior written to {out}: best epoch {best['best_epoch']}, validation PSNR {best['val_psnr']:.2f} dB"
    )
    if ship:
        typer.echo(f"shipped as the package's prior: {ship_prior(out)}")
