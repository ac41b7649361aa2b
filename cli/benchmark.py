"""`fetal-denoise benchmark`: the paper's Tables I/II on open MRI, and the speed figures (benchmarks/run.py)."""

from __future__ import annotations

import typer


def benchmark_command(ctx: typer.Context) -> None:
    """Run benchmarks: --quick (CPU, ~1 h), --paper (150 epochs, GPU), --speed, --tiny; --help lists options."""
    from benchmarks.run import main as run_benchmarks

    code = run_benchmarks(ctx.args)
    if code:
        raise typer.Exit(code)
