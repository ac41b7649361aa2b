"""The denoising methods' contract: their names, their configs, fit budgets, all read from one registry.

Everything here is plain pydantic, with no framework: the gateway, the CLI and the Celery payloads validate
a config with these models once, where it is made, and a worker trusts the typed config it receives. The
adapters to each framework's own objects (n2v's config, PyTorch modules) live in the method's service.
Each method is declared once, in shared.methods.registry (its config class there is a subclass of
shared.methods.base.MethodConfigBase, which holds the fields every method shares); the names, the config
union and the defaults below are read from it when they are used, so a method added there is known here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, TypeAlias, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from shared.errors import ConfigError
from shared.methods.base import MethodConfigBase
from shared.methods.n2n import N2NConfig
from shared.methods.n2v import N2VConfig
from shared.methods.registry import MethodSpec, method_names, method_spec, registry


def _expected() -> str:
    """The registered names as pydantic's Literal error lists them ("'n2n' or 'n2v'")."""
    quoted = [repr(name) for name in method_names()]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


class _Registered:
    """Pydantic metadata: a string that names a registered method (the registry is read at validation time,
    so the JSON schema's enum and the error read as a Literal's would)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def check(value: str) -> str:
            if value not in registry():
                raise PydanticCustomError(
                    "literal_error", "Input should be {expected}", {"expected": _expected()}
                )
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "enum": list(method_names())}


MethodName: TypeAlias = Annotated[str, _Registered()]
"""The name of a registered method (shared.methods.registry)."""


def methods() -> tuple[str, ...]:
    """Every registered method's name."""
    return method_names()


AnyConfig: TypeAlias = N2NConfig | N2VConfig
"""The configs of the built-in methods, for type checkers; at run time a config is any registered method's
config class (a toy method's config passes through every function typed with it)."""


def _validate_config(value: Any) -> MethodConfigBase:
    """A config of the method its `method` field names (a config object passes as it is)."""
    if isinstance(value, MethodConfigBase):
        return value
    if not isinstance(value, Mapping):
        raise PydanticCustomError("model_type", "Input should be a config object")
    name = value.get("method")
    if name not in registry():
        raise PydanticCustomError(
            "union_tag_invalid",
            "Input tag {tag} found using 'method' does not match any of the expected tags: {expected}",
            {"tag": repr(name), "expected": _expected()},
        )
    return method_spec(name).config.model_validate(value)


class _AnyRegisteredConfig:
    """Pydantic metadata: a config of any registered method, chosen by its `method` field (the registry is
    read at validation time; the JSON schema is the union of the configs registered when it is built)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        published = core_schema.tagged_union_schema(
            {name: handler.generate_schema(spec.config) for name, spec in registry().items()},
            discriminator="method",
        )
        return core_schema.no_info_plain_validator_function(
            _validate_config,
            json_schema_input_schema=published,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda config, info: config.model_dump(mode=info.mode), info_arg=True
            ),
        )


MethodConfig = Annotated[AnyConfig, _AnyRegisteredConfig()]
"""A config of any registered method; the `method` field says which."""


class _ByMethod(Mapping[str, Any]):
    """A read-only view of one field of every registry entry, by method name."""

    def __init__(self, read: Any) -> None:
        self._read = read

    def __getitem__(self, name: str) -> Any:
        return self._read(method_spec(name))

    def __iter__(self) -> Iterator[str]:
        return iter(method_names())

    def __len__(self) -> int:
        return len(registry())


CONFIG_CLASSES: Mapping[str, type[MethodConfigBase]] = _ByMethod(lambda spec: spec.config)
FIT_DEFAULTS: Mapping[str, Mapping[str, Any]] = _ByMethod(lambda spec: spec.fit_defaults)
"""What a fit takes when the caller sets nothing (shared.methods.registry: N2N's from the prior)."""
SCRATCH_FIT_DEFAULTS: Mapping[str, Mapping[str, Any]] = _ByMethod(lambda spec: spec.fit_start(scratch=True))
"""Where a fit from random weights starts (the CLI's `--fit --scratch`, `scratch` on POST /denoise)."""
TRAIN_DEFAULTS: Mapping[str, Mapping[str, Any]] = _ByMethod(lambda spec: spec.train_defaults)
"""Where a training (`fetal-denoise train`, POST /train) starts when the caller sets nothing, over the config
class's own defaults (the paper's); `paper` starts from the config class's defaults instead."""

ConfigT = TypeVar("ConfigT", bound=MethodConfigBase)


def parse_config(method: MethodName, values: Mapping[str, Any]) -> AnyConfig:
    """Validate user-given fields for `method`; every problem becomes one ConfigError naming the fields."""
    try:
        config = method_spec(method).config.model_validate({**values, "method": method})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid {method} config: {problems}") from exc
    return config  # type: ignore[return-value]  # a registered config class; see AnyConfig


def fit_config(method: MethodName, values: Mapping[str, Any], *, scratch: bool = False) -> AnyConfig:
    """The config of a fit on the volume to denoise: the method's fit defaults (with `scratch`, from random
    weights) overlaid with `values`."""
    return parse_config(method, {**method_spec(method).fit_start(scratch=scratch), **values})


def train_config(method: MethodName, values: Mapping[str, Any], *, paper: bool = False) -> AnyConfig:
    """The config of a training: the method's training defaults (with `paper`: the config's own, the paper's
    settings) overlaid with `values`."""
    return parse_config(method, {**({} if paper else method_spec(method).train_defaults), **values})


def require_config(config: MethodConfigBase, expected: type[ConfigT]) -> ConfigT:
    """`config` as the method's own config class; another method's config is a ConfigError."""
    if not isinstance(config, expected):
        raise ConfigError(f"a {config.method} config cannot configure {expected.__name__}")
    return config


__all__ = [
    "CONFIG_CLASSES",
    "FIT_DEFAULTS",
    "SCRATCH_FIT_DEFAULTS",
    "TRAIN_DEFAULTS",
    "AnyConfig",
    "MethodConfig",
    "MethodName",
    "MethodSpec",
    "fit_config",
    "method_spec",
    "methods",
    "parse_config",
    "require_config",
    "train_config",
]
