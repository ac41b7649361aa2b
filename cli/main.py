"""Entry point of the `fetal-denoise` command: registers the sub-commands and turns errors into one line."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import typer

from cli import benchmark, demo, denoise, evaluate, noise, noise_level, pretrain, purge, serve, train, users
from shared.errors import FetalDenoiseError

app = typer.Typer(
    name="fetal-denoise",
    help="Self-supervised MRI denoising (Noise2Noise, Noise2Void): train, denoise, evaluate, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version() -> str:
    try:
        return version("fetal-denoise")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"fetal-denoise {_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Self-supervised MRI denoising (Noise2Noise, Noise2Void): train, denoise, evaluate, serve."""


app.command("noise")(noise.noise_command)
app.command("evaluate")(evaluate.evaluate_command)
app.command("noise-level")(noise_level.noise_level_command)
app.command("train")(train.train_command)
app.command("denoise")(denoise.denoise_command)
app.command("serve")(serve.serve_command)
app.command("demo")(demo.demo_command)
app.command("purge")(purge.purge_command)
app.command("pretrain")(pretrain.pretrain_command)
app.add_typer(users.app, name="users")
app.command(
    "benchmark",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)(benchmark.benchmark_command)


MULTI_VALUE_OPTIONS = ("--clean", "--noisy", "--noisy2")
"""Options that take several files after one flag (`--clean a.nii b.nii`), as researchers write them."""


def expand_multi_value_options(argv: list[str]) -> list[str]:
    """Rewrite `--clean a b` as `--clean a --clean b`, since click options take one value per flag."""
    expanded: list[str] = []
    current: str | None = None
    for arg in argv:
        if arg.startswith("-"):
            current = arg if arg in MULTI_VALUE_OPTIONS else None
            if current is None:
                expanded.append(arg)
            continue
        if current is not None:
            expanded += [current, arg]
        else:
            expanded.append(arg)
    return expanded


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a FetalDenoiseError becomes one line on stderr and exit code 2, never a traceback."""
    args = expand_multi_value_options(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="fetal-denoise")
    except FetalDenoiseError as exc:
        typer.echo(f"fetal-denoise: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
