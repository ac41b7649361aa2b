"""The benchmark's command line: budget overrides with --set, checked before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import run
from benchmarks.budget import Budget


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """run_benchmark replaced by a recorder of what it was asked to run."""
    calls: dict[str, Any] = {}

    def record(budget: Budget, name: str, out_dir: Path, sigmas: list[float], **kwargs: Any) -> Path:
        calls.update(budget=budget, name=name, sigmas=sigmas, **kwargs)
        return out_dir / f"{name}.json"

    monkeypatch.setattr(run, "run_benchmark", record)
    return calls


def test_set_overrides_budget_fields_with_typed_values(captured: dict[str, Any]) -> None:
    """--set n2v_batch_norm=true --set rampdown=0 makes a custom quick budget with those values."""
    run.main(["--quick", "--set", "n2v_batch_norm=true", "--set", "rampdown=0", "--sigmas", "20"])
    budget = captured["budget"]
    assert budget.name == "custom"
    assert budget.n2v_batch_norm is True and budget.rampdown == 0.0
    assert (budget.steps, budget.batch_size) == (400, 8)  # the rest is the quick budget
    assert captured["name"] == "quick" and captured["sigmas"] == [20.0]


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("bogus=1", "--set wants FIELD=VALUE with FIELD one of"),
        ("rampdown", "--set wants FIELD=VALUE"),
        ("rampdown=2", "invalid --set: rampdown: Input should be less than or equal to 1"),
        ("n2v_batch_norm=maybe", "invalid --set: n2v_batch_norm"),
    ],
)
def test_bad_overrides_are_refused_before_running(
    captured: dict[str, Any], capsys: pytest.CaptureFixture[str], pair: str, message: str
) -> None:
    """An unknown field, a missing '=' or a value out of range exits 2 with the reason; nothing runs."""
    with pytest.raises(SystemExit) as caught:
        run.main(["--quick", "--set", pair])
    assert caught.value.code == 2
    assert message in capsys.readouterr().err
    assert captured == {}
