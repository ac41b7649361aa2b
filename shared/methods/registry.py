"""Every denoising method, declared once: one `MethodSpec` per method in `REGISTRY`.

What the rest of the project knows about a method is read from its entry here: the names pydantic accepts
(shared.methods.MethodName), the queue and task names (shared.queue.names), the embedded workers
(services/embedded/runtime.py), the route checks (what a method takes: a second acquisition, repeated
volumes, a prior, inference options), the fit and training defaults, and the web page's method list.
Adding a method is its own folder (config, workflow, tasks), one `MethodSpec(...)` line in `_BUILT_IN`, a
Dockerfile target and a compose service (docs/adding-a-method.md).

The entries import no framework: a spec names its modules as strings, imported only by the process that runs
the method. `FETAL_DENOISE_EXTRA_METHODS` (comma-separated `module:attribute` of MethodSpec objects) adds
methods to every process that reads this registry (gateway, workers, CLI), e.g. a plug-in or a test's toy
method; `registered(spec)` adds one to the current process only, for as long as a `with` block lasts.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from shared.methods.base import MethodConfigBase
from shared.methods.n2n import N2NConfig
from shared.methods.n2v import N2VConfig
from shared.models.builtin import PRIOR_ID

EXTRA_METHODS_ENV = "FETAL_DENOISE_EXTRA_METHODS"
"""Environment variable naming extra MethodSpec objects (`module:attribute`, comma-separated)."""


@dataclass(frozen=True)
class MethodSpec:
    """One denoising method: its name, config, where its code lives, what it takes, where it starts."""

    name: str
    """The method's name: its `method` field, its queue, the prefix of its task names."""
    config: type[MethodConfigBase]
    """Its config class (shared/methods/<name>.py), whose `method` field is `Literal["<name>"]`."""
    workflow_module: str
    """The module holding its `workflow` instance (shared.methods.workflow.MethodWorkflow)."""
    tasks_module: str
    """The module its worker runs (`celery -A <tasks_module> worker -Q <name>`)."""
    label: str
    """One line for the web page's method list."""
    framework: str | None = None
    """The framework its worker computes with, as named in messages (None: numpy only)."""
    pairs: bool = False
    """Whether it uses a second acquisition of the same anatomy, or the repeated volumes of a series."""
    prior: str | None = None
    """The shipped model it denoises with when none is named and no fit is asked (None: it fits instead)."""
    inference_options: bool = False
    """Whether its models take InferenceOptions (a told noise level, three planes)."""
    fit_defaults: Mapping[str, Any] = field(default_factory=dict)
    """Where a fit on the volume to denoise starts (from the prior, when it has one)."""
    scratch_fit_defaults: Mapping[str, Any] | None = None
    """Where a fit from random weights starts (None: the same as fit_defaults, a method without prior)."""
    train_defaults: Mapping[str, Any] = field(default_factory=dict)
    """Where a training starts, over the config class's own defaults (the paper's)."""

    @property
    def queue(self) -> str:
        """The queue its worker consumes."""
        return self.name

    @property
    def denoise_task(self) -> str:
        """The name of its denoise task."""
        return f"{self.name}.denoise"

    @property
    def train_task(self) -> str:
        """The name of its training task."""
        return f"{self.name}.train"

    @property
    def fits_without_model(self) -> bool:
        """Whether a denoise call without a model fits on its input (a method with no prior)."""
        return self.prior is None

    def fit_start(self, *, scratch: bool) -> Mapping[str, Any]:
        """The defaults of a fit: from the prior, or with `scratch` from random weights."""
        if scratch and self.scratch_fit_defaults is not None:
            return self.scratch_fit_defaults
        return self.fit_defaults


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

N2V_FIT: dict[str, Any] = {
    "epochs": 20,
    "steps_per_epoch": 50,
    "n2v_perc_pix": 1.5,
    "batch_norm": False,
    "rampdown": 0.3,
}
"""N2V's fit (1,000 steps), which has no prior: 1.5% blind spots per patch (the N2V paper's 64 per 64x64
patch, and the default of every N2V config here; n2v's example notebooks use 0.198%). No batch norm: in a
training this short its running statistics trail the weights and the output comes out biased (the
benchmark's quick budget: 27.6 dB with it, 29.8 dB without, at sigma 20). The cosine lr ramp-down lets the
last, noisy blind-spot gradients settle (30.4 dB with both)."""

N2N_SCRATCH_FIT: dict[str, Any] = {
    "epochs": 20,
    "steps_per_epoch": 50,
    "batch_size": 8,
    "crop_size": 64,
    "lr": 1e-3,
    "rampdown": 0.3,
    "residual": True,
    "augment": True,
}
"""Where an N2N fit from random weights starts (the CLI's `--fit --scratch`, `scratch` on POST /denoise): a
fit on one scan by recorruption, on a pair, or on repetitions; 1,000 steps of 8 crops of 64x64: the quick
benchmark's budget, under which N2N matched N2C, with a residual output that starts as the identity (the
network first learns the small correction, not the whole image) and random flips and rotations. What this
budget gives is measured, not assumed: the fit rows and time-to-quality curves of `fetal-denoise benchmark
--curve` on the template at sigma 20 and 5 (benchmarks/results/curve-sigma20.json, curve-sigma5.json) and the
fits on a real repeated acquisition (`--real-pair`, real-pair.json); the README's Results read them."""

N2V_TRAIN: dict[str, Any] = {"n2v_perc_pix": 1.5, "batch_norm": False, "rampdown": 0.3}
"""Where an N2V training (`fetal-denoise train`, POST /train) starts when the caller sets nothing: the fit's
tuned settings but not its budget (150 epochs stay): no batch norm, the 0.3 cosine lr ramp-down and 1.5% blind
spots (benchmarks/budget.py N2V_BATCH_NORM_SHORT: 27.6 dB with batch norm and a constant lr, 30.4 dB with
neither). N2N trains as in the paper (no training defaults). The paper's settings (n2v's batch norm and its
plateau lr schedule) are one preset away: `train --paper`, or `paper` on POST /train, starts from the config
class's defaults instead; a config file or `params` of `{"batch_norm": true, "rampdown": 0}` does the same
field by field."""

_BUILT_IN: tuple[MethodSpec, ...] = (
    MethodSpec(
        name="n2n", config=N2NConfig, workflow_module="services.n2n.workflow", tasks_module="services.n2n.tasks",
        label="Noise2Noise (n2n): the shipped prior, or a fit on this scan (and its pair)", framework="torch",
        pairs=True, prior=PRIOR_ID, inference_options=True, fit_defaults=PRIOR_FIT,
        scratch_fit_defaults=N2N_SCRATCH_FIT,
    ),
    MethodSpec(
        name="n2v", config=N2VConfig, workflow_module="services.n2v.workflow", tasks_module="services.n2v.tasks",
        label="Noise2Void (n2v): a fit on this scan", framework="TensorFlow", fit_defaults=N2V_FIT,
        train_defaults=N2V_TRAIN,
    ),
)  # fmt: skip

_REGISTRY: dict[str, MethodSpec] = {}


def _extra_methods() -> list[MethodSpec]:
    """The specs named by FETAL_DENOISE_EXTRA_METHODS."""
    specs = []
    for item in filter(None, (part.strip() for part in os.environ.get(EXTRA_METHODS_ENV, "").split(","))):
        module, _, attribute = item.partition(":")
        spec = getattr(importlib.import_module(module), attribute)
        if not isinstance(spec, MethodSpec):
            raise TypeError(f"{EXTRA_METHODS_ENV}: {item} is not a MethodSpec")
        specs.append(spec)
    return specs


def registry() -> dict[str, MethodSpec]:
    """Every method of this process, by name, built-in ones first."""
    if not _REGISTRY:
        for spec in (*_BUILT_IN, *_extra_methods()):
            _REGISTRY[spec.name] = spec
    return _REGISTRY


def method_names() -> tuple[str, ...]:
    """The names of every method, in registry order."""
    return tuple(registry())


def method_spec(name: str) -> MethodSpec:
    """The entry of method `name` (KeyError for an unknown one; names are validated where they arrive)."""
    return registry()[name]


def pairing_methods() -> str:
    """The methods that pair acquisitions, for messages ("n2n")."""
    return " or ".join(spec.name for spec in registry().values() if spec.pairs)


def inference_methods() -> str:
    """The methods whose models take inference options, for messages ("n2n")."""
    return " or ".join(spec.name for spec in registry().values() if spec.inference_options)


def prior_method() -> str | None:
    """The method whose models the shipped prior (shared.models.builtin.PRIOR_ID) is one of ("n2n")."""
    return next((spec.name for spec in registry().values() if spec.prior == PRIOR_ID), None)


@contextmanager
def registered(spec: MethodSpec) -> Iterator[MethodSpec]:
    """Add `spec` to this process's registry for the `with` block (a test's toy method)."""
    methods = registry()
    if spec.name in methods:
        raise ValueError(f"a method named {spec.name} is already registered")
    methods[spec.name] = spec
    try:
        yield spec
    finally:
        del methods[spec.name]
