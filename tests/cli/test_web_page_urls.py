"""Where the CLI tells a user to find the web page: `serve` and `demo --keep-serving`."""

from __future__ import annotations

import os
import signal
import webbrowser

import pytest
from typer.testing import CliRunner

import cli.demo
import services.embedded.runtime
from cli.main import app


def test_serve_prints_the_page_url(monkeypatch: pytest.MonkeyPatch):
    """`serve --host 0.0.0.0` prints the page's address as a browser on this machine reaches it."""
    started: list[tuple[str, int]] = []
    monkeypatch.setattr(
        services.embedded.runtime, "run_embedded", lambda host, port, data_dir: started.append((host, port))
    )
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "web page http://127.0.0.1:8123/" in result.output
    assert started == [("0.0.0.0", 8123)]


def test_keep_serving_points_the_page_at_the_job_and_waits(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """The demo prints the page's URL on its job, opens no browser without a display, and stops on Ctrl-C."""
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.demo.time, "sleep", interrupt)
    cli.demo.keep_serving_page("http://127.0.0.1:5001", "abc123")
    out = capsys.readouterr().out
    assert "web page on the result: http://127.0.0.1:5001/#job=abc123" in out
    assert out.rstrip().endswith("stopping the service") and opened == []


def test_keep_serving_stops_on_sigterm_as_on_ctrl_c(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """SIGTERM (kill, systemd, docker stop) ends the wait like Ctrl-C, so the service's workers are stopped;
    the previous SIGTERM handler is back afterwards."""
    monkeypatch.setattr(webbrowser, "open", lambda _: None)
    monkeypatch.setattr(cli.demo.time, "sleep", lambda _: os.kill(os.getpid(), signal.SIGTERM))
    before = signal.getsignal(signal.SIGTERM)
    cli.demo.keep_serving_page("http://127.0.0.1:5001", "abc123")
    assert capsys.readouterr().out.rstrip().endswith("stopping the service")
    assert signal.getsignal(signal.SIGTERM) is before
