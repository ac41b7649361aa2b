"""Helpers to run the `fetal-denoise` command in-process, exactly as its entry point does."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cli.main import main


@dataclass
class CliResult:
    """Exit code and captured output of one CLI run."""

    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run `fetal-denoise ARGS...` through its real entry point and capture exit code, stdout, stderr."""

    def run(*args: str) -> CliResult:
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
