"""`fetal-denoise benchmark`: the paper's Tables I/II on open MRI, and the speed figures (benchmarks/run.py)."""

from __future__ import annotations

import typer


def benchmark_command(ctx: typer.Context) -> None:
    """Run benchmarks: --quick (this CPU), --paper (150 epochs, for a GPU), --speed, --tiny; --help lists options.

    Each run prints its duration and writes it into its results file; the README quotes them.
    """
    from benchmarks.run import main as run_benchmarks

    code = run_benchmarks(ctx.args, prog="fetal-denoise benchmark")
    if code:
        raise typer.Exit(code)
