"""What `--help` tells a new user: the flags that matter on real scans, flags shown as flags, the right name."""

from __future__ import annotations

import re

import pytest


def _flat(text: str) -> str:
    """Help text with rich's box borders and line wraps taken out, so a wrapped sentence reads as one."""
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", text))


def test_denoise_help_documents_plane_repeats_and_series_and_shows_flags_as_flags(run_cli):
    """--plane (with its acquisition default), --repeats and --series-uid are documented; no <bool> flags."""
    result = run_cli("denoise", "--help")
    assert result.code == 0
    for option in ("--plane", "acquisition", "--repeats", "--volumes", "--series-uid", "--fit"):
        assert option in result.out
    own_lines = [line for line in result.out.splitlines() if "--help" not in line]  # typer's own --help aside
    assert not any("<bool>" in line for line in own_lines)


@pytest.mark.parametrize("command", ["denoise", "train"])
def test_help_states_the_plane_default_is_the_acquisition_plane(
    run_cli, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The --plane line says its default in words: the plane the slices were acquired in."""
    monkeypatch.setenv("COLUMNS", "200")
    result = run_cli(command, "--help")
    assert result.code == 0
    text = _flat(result.out)
    assert "Default: acquisition, the plane the slices were acquired in." in text
    assert "slices ." not in text  # no sentence left with its end swallowed


def test_benchmark_help_is_named_as_the_user_calls_it(run_cli):
    """`fetal-denoise benchmark --help` says `usage: fetal-denoise benchmark`, not a module path."""
    result = run_cli("benchmark", "--help")
    assert result.code == 0
    assert result.out.startswith("usage: fetal-denoise benchmark")
