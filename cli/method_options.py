"""Turn the CLI's hyper-parameter flags into a method's validated config (shared.methods).

The flags carry the config's own field names (`--batch-size` is `batch_size`), so the HTTP API takes the
same JSON. A flag that the chosen method does not have is refused rather than silently ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from pydantic_core import PydanticCustomError

from shared.errors import ConfigError
from shared.methods import AnyConfig, MethodName, parse_config
from shared.methods.registry import method_names, method_spec


def method_option(help_text: str) -> Any:
    """`--method`: one of the registered methods (shared.methods.registry), checked when the command line is
    parsed, so a method added to the registry is a choice without a flag written for it (the refusal reads as
    click's own for a list of choices)."""

    def parse(value: str) -> str:
        if value not in method_names():
            choices = ", ".join(repr(name) for name in method_names())
            raise PydanticCustomError(
                "literal_error",
                "{value} is not one of {choices}.",
                {"value": repr(value), "choices": choices},
            )
        return value

    return typer.Option(parser=parse, metavar="[" + "|".join(method_names()) + "]", help=help_text)


def build_config(
    method: MethodName,
    flags: dict[str, Any],
    config_file: Path | None = None,
    fit: bool = False,
    paper: bool = False,
    scratch: bool = False,
) -> AnyConfig:
    """The method's config from an optional JSON file overlaid with the flags that were given.

    A training starts from the method's training defaults (shared.methods.registry), or with
    `paper=True` from the config's own (the paper's settings); `fit=True` (a fit on the volume to denoise)
    starts from the method's bounded fit budget (for n2n, fine-tuning the shipped prior), or with
    `scratch` from random weights.
    """
    if fit and paper:
        raise ValueError("a fit starts from the fit defaults; paper applies to a training")
    spec = method_spec(method)
    values: dict[str, Any] = (
        {} if paper else dict(spec.fit_start(scratch=scratch) if fit else spec.train_defaults)
    )
    if config_file is not None:
        try:
            loaded = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{config_file}: not a readable JSON config ({exc})") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{config_file}: a config must be a JSON object")
        values.update(loaded)
    values.update({name: value for name, value in flags.items() if value is not None})
    unknown = sorted(set(values) - set(spec.config.model_fields))
    if unknown:
        flags_named = ", ".join("--" + name.replace("_", "-") for name in unknown)
        raise ConfigError(f"{method} has no option {flags_named}")
    return parse_config(method, values)
