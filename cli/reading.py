"""Reading an input file on the command line: the project's reader, and its warnings shown to the user."""

from __future__ import annotations

from pathlib import Path

import typer

from shared.io import read_volume
from shared.volume import Volume


def read_input(path: Path, *, series_uid: str | None = None) -> Volume:
    """Read `path`; every assumption the reader had to make (no geometry in a DICOM, say) goes to stderr."""
    volume = read_volume(path, series_uid=series_uid)
    for warning in volume.source.warnings if volume.source is not None else ():
        typer.echo(f"fetal-denoise: warning: {path.name}: {warning}", err=True)
    return volume
