"""Tests of `--speed`'s plumbing (the measurements themselves are benchmarks.n2n_speed / n2v_speed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks import speed


@pytest.mark.slow
def test_a_failing_measurement_becomes_an_error_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a method's process fails, its entry says so, the run goes on, and the JSON is still written."""
    monkeypatch.setattr(speed.sys, "executable", shutil.which("false") or "/bin/false")
    out = tmp_path / "speed.json"
    figures = speed.run_speed(progress=lambda _: None, out_path=out, methods=("n2n", "n2v"))
    assert figures["n2n"] == {"error": "exit code 1: no output"}
    assert figures["n2v"] == {"error": "exit code 1: no output"}
    assert out.is_file() and figures["machine"]["cores"] >= 1


def test_an_interpreter_that_cannot_start_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing interpreter is an error entry naming the problem, not an exception."""
    monkeypatch.setattr(speed.sys, "executable", str(tmp_path / "no-such-python"))
    figures = speed.run_speed(progress=lambda _: None, methods=("n2v",))
    assert figures["n2v"]["error"].startswith("could not start the measurement:")
