"""`fetal-denoise serve`: the gateway and the three workers on this machine, with no Redis and no Docker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve_command(
    host: Annotated[str, typer.Option(help="Address the gateway listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the gateway.")] = 8000,
    data_dir: Annotated[
        Path, typer.Option(envvar="DATA_DIR", help="Jobs, models and (without Redis) the queue live here.")
    ] = Path("data"),
) -> None:
    """Serve the HTTP API with local workers: a queue in DATA_DIR, or Redis when BROKER_URL is set."""
    from services.embedded.runtime import run_embedded

    typer.echo(f"fetal-denoise serving on http://{host}:{port} (API docs at /docs); Ctrl-C stops it")
    run_embedded(host=host, port=port, data_dir=data_dir)
