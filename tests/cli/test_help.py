"""What `--help` tells a new user: the flags that matter on real scans, flags shown as flags, the right name."""

from __future__ import annotations


def test_denoise_help_documents_plane_repeats_and_series_and_shows_flags_as_flags(run_cli):
    """--plane (with its acquisition default), --repeats and --series-uid are documented; no <bool> flags."""
    result = run_cli("denoise", "--help")
    assert result.code == 0
    for option in ("--plane", "acquisition", "--repeats", "--series-uid", "--fit"):
        assert option in result.out
    own_lines = [line for line in result.out.splitlines() if "--help" not in line]  # typer's own --help aside
    assert not any("<bool>" in line for line in own_lines)


def test_benchmark_help_is_named_as_the_user_calls_it(run_cli):
    """`fetal-denoise benchmark --help` says `usage: fetal-denoise benchmark`, not a module path."""
    result = run_cli("benchmark", "--help")
    assert result.code == 0
    assert result.out.startswith("usage: fetal-denoise benchmark")
