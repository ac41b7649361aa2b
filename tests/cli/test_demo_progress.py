"""`fetal-denoise demo` follows its job with the same progress bar as `denoise` and `train`."""

from __future__ import annotations

from typing import Any

import pytest

import cli.demo
from cli.demo import _wait
from cli.progress_bar import progress_bar


def test_demo_draws_its_job_with_the_command_lines_progress_bar(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli.demo, "POLL_SECONDS", 0.0)
    answers = iter(
        [
            {"status": "queued", "progress": None},
            {
                "status": "running",
                "progress": {"stage": "training", "fraction": 0.5, "epoch": 2, "epochs": 4},
            },
            {"status": "succeeded", "progress": {"stage": "done", "fraction": 1.0}},
        ]
    )

    class Answer:
        def __init__(self, body: dict[str, Any]) -> None:
            self.body = body

        def json(self) -> dict[str, Any]:
            return self.body

    class Client:
        def get(self, _path: str) -> Answer:
            return Answer(next(answers))

    with progress_bar() as progress:
        job = _wait(Client(), "job", timeout=30, progress=progress)

    drawn = capsys.readouterr().err
    assert job["status"] == "succeeded"
    assert "queued" in drawn
    assert "training" in drawn and "2/4" in drawn
