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

    base = base_url(host, port)
    typer.echo(f"fetal-denoise serving on {base}: web page {base}/, API docs {base}/docs; Ctrl-C stops it")
    run_embedded(host=host, port=port, data_dir=data_dir)


def base_url(host: str, port: int) -> str:
    """The address a browser on this machine opens (a wildcard listen address is reached as localhost)."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{reachable}:{port}"
