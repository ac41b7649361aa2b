"""The denoising methods' contract: their names, their configs as one discriminated union, fit budgets.

Everything here is plain pydantic, with no framework: the gateway, the CLI and the Celery payloads validate
a config with these models once, where it is made, and a worker trusts the typed config it receives. The
adapters to each framework's own objects (n2v's config, PyTorch modules) live in the method's service.
A third method adds its config module here (a subclass of shared.methods.base.MethodConfigBase, which holds
the fields every method shares), one member to `MethodConfig`, and one entry to each mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeAlias, TypeVar

from pydantic import Field, TypeAdapter, ValidationError

from shared.errors import ConfigError
from shared.methods.n2n import N2NConfig
from shared.methods.n2v import N2VConfig

MethodName = Literal["n2n", "n2v"]
METHODS: tuple[MethodName, ...] = ("n2n", "n2v")

AnyConfig: TypeAlias = N2NConfig | N2VConfig
MethodConfig = Annotated[AnyConfig, Field(discriminator="method")]
"""A config of either method; the `method` field says which."""

CONFIG_CLASSES: dict[MethodName, type[AnyConfig]] = {"n2n": N2NConfig, "n2v": N2VConfig}

PRIOR_FIT: dict[str, Any] = {
    "start": "prior",
    "context": 2,
    "residual": True,
    "noise_map": True,
    "epochs": 4,
    "steps_per_epoch": 50,
    "batch_size": 8,
    "crop_size": 64,
    "lr": 1e-4,
    "rampdown": 0.3,
    "augment": True,
}
"""N2N's fit: the shipped prior fine-tuned on the input (recorruption, or its pair) for 200 steps of 8 crops
at a tenth of the scratch fit's rate, so the weights move towards the scan without forgetting the prior.
context / residual / noise_map are the prior's architecture (services/n2n/prior/start.py checks them). The
budget and rate are measured by `fetal-denoise benchmark --prior` (benchmarks/results/prior-sigma20.json)."""

FIT_DEFAULTS: dict[MethodName, dict[str, Any]] = {
    "n2n": PRIOR_FIT,
    "n2v": {"epochs": 20, "steps_per_epoch": 50, "n2v_perc_pix": 1.5, "batch_norm": False, "rampdown": 0.3},
}

SCRATCH_FIT_DEFAULTS: dict[MethodName, dict[str, Any]] = {
    "n2n": {
        "epochs": 20,
        "steps_per_epoch": 50,
        "batch_size": 8,
        "crop_size": 64,
        "lr": 1e-3,
        "rampdown": 0.3,
        "residual": True,
        "augment": True,
    },
    "n2v": FIT_DEFAULTS["n2v"],
}
"""Where a fit from random weights starts (the CLI's `--fit --scratch`, `scratch` on POST /denoise), and
N2V's fit, which has no prior: `FIT_DEFAULTS` is what a fit takes when the caller sets nothing.

N2V (1,000 steps): 1.5% blind spots per patch (the N2V paper's 64 per 64x64 patch, and the default of every
N2V config here; n2v's example notebooks use 0.198%). No batch norm: in a training this short its running
statistics trail the weights and the output comes out biased (the benchmark's quick budget: 27.6 dB with it, 29.8 dB without, at
sigma 20). The cosine lr ramp-down lets the last, noisy blind-spot gradients settle (30.4 dB with both).
N2N (a fit on one scan by recorruption, on a pair, or on repetitions; 1,000 steps of 8 crops of 64x64): the
quick benchmark's budget, under which N2N matched N2C, with a residual output that starts as the identity
(the network first learns the small correction, not the whole image) and random flips and rotations. What
this budget gives is measured, not assumed: the fit rows and time-to-quality curves of `fetal-denoise
benchmark --curve` on the template at sigma 20 and 5 (benchmarks/results/curve-sigma20.json,
curve-sigma5.json) and the fits on a real repeated acquisition (`--real-pair`, real-pair.json); the README's
Results read them."""

TRAIN_DEFAULTS: dict[MethodName, dict[str, Any]] = {
    "n2n": {},
    "n2v": {"n2v_perc_pix": 1.5, "batch_norm": False, "rampdown": 0.3},
}
"""Where a training (`fetal-denoise train`, POST /train) starts when the caller sets nothing, over the config
class's own defaults (the paper's). N2N trains as in the paper. N2V takes the fit's tuned settings but not its
budget (150 epochs stay): no batch norm, the 0.3 cosine lr ramp-down and 1.5% blind spots, the settings
FIT_DEFAULTS gives a fit and the benchmark's short budgets use (benchmarks/budget.py N2V_BATCH_NORM_SHORT:
27.6 dB with batch norm and a constant lr, 30.4 dB with neither). The paper's settings (n2v's batch norm and
its plateau lr schedule) are one preset away: `train --paper`, or `paper` on POST /train, starts from the
config class's defaults instead; a config file or `params` of `{"batch_norm": true, "rampdown": 0}` does the
same field by field."""

_UNION: TypeAdapter[AnyConfig] = TypeAdapter(MethodConfig)
ConfigT = TypeVar("ConfigT", N2NConfig, N2VConfig)


def parse_config(method: MethodName, values: Mapping[str, Any]) -> AnyConfig:
    """Validate user-given fields for `method`; every problem becomes one ConfigError naming the fields."""
    try:
        return _UNION.validate_python({**values, "method": method})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or 'config'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid {method} config: {problems}") from exc


def fit_config(method: MethodName, values: Mapping[str, Any], *, scratch: bool = False) -> AnyConfig:
    """The config of a fit on the volume to denoise: FIT_DEFAULTS[method] (with `scratch`, from random
    weights: SCRATCH_FIT_DEFAULTS[method]) overlaid with `values`."""
    return parse_config(method, {**(SCRATCH_FIT_DEFAULTS if scratch else FIT_DEFAULTS)[method], **values})


def train_config(method: MethodName, values: Mapping[str, Any], *, paper: bool = False) -> AnyConfig:
    """The config of a training: TRAIN_DEFAULTS[method] (with `paper`: the config's own, the paper's settings)
    overlaid with `values`."""
    return parse_config(method, {**({} if paper else TRAIN_DEFAULTS[method]), **values})


def require_config(config: AnyConfig, expected: type[ConfigT]) -> ConfigT:
    """`config` as the method's own config class; another method's config is a ConfigError."""
    if not isinstance(config, expected):
        raise ConfigError(f"a {config.method} config cannot configure {expected.__name__}")
    return config
