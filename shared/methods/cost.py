"""What one training step costs in memory, estimated from a config alone (no framework), checked at the door.

A step holds the network's weights with their gradients, Adam's two moments and the update's temporaries
(float32), and the activations autograd keeps from the forward pass for the backward one. Those
grow as batch x patch (or crop) area (x depth for 3D patches) x the U-Net's channels per pixel, summed
over its levels (each level holds a quarter of the pixels of the one above in 2D, an eighth in 3D). A step
whose peak passes the worker's memory kills the worker on every try (issue 23: an N2V batch of 1,024,
256 first filters, depth 5, or an N2N batch of 512, all accepted before), so `check_step_memory` refuses
it before it is queued, naming the largest settings that fit.

Calibration (torch 2.13 CPU, TensorFlow 2.21 CPU with n2v 0.3.3, float32, one thread; each row one fresh
process that imports the framework, then builds the network and runs 2 steps on random data;
`PYTHONPATH=$PWD nice -n 19 .venv/bin/python -m benchmarks.step_memory METHOD key=value ...`, 2026-12-08).
"import": RSS after the import; "step": growth of the peak RSS over it; "estimate": `framework_bytes +
step_bytes` against "import + step", in MiB:

    method  config                                       import  step  estimate (step)  measured  ratio
    n2n     batch_size=8  crop_size=64                    324    267    706 (194)          591     1.20
    n2n     batch_size=16 crop_size=64                    324    416    878 (366)          740     1.19
    n2n     batch_size=4  crop_size=128                   324    414    878 (366)          738     1.19
    n2n     batch_size=32 crop_size=64                    324    643   1221 (709)          967     1.26
    n2v     batch_size=16 patch_size=64                   663    150   1190 (166)          813     1.46
    n2v     batch_size=64 patch_size=64                   664    423   1670 (646)         1087     1.54
    n2v     batch_size=64 patch_size=64 batch_norm        664    680   1953 (929)         1344     1.45
    n2v     batch_size=2  patch_size=32 dims=3            663    167   1176 (152)          830     1.42
    n2v     batch_size=1  patch_size=16 unet_n_first=128  663    378   1408 (384)         1041     1.35
              unet_n_depth=3 (16,668,033 parameters, as Keras counts them and n2v_layers does)

The step grows with batch x area alone (N2N's 16 crops of 64x64 and 4 of 128x128 measure the same): by
15 to 19 MiB per 64x64 crop for N2N (the estimate: 21) and 5.7 MiB per 64x64 patch for N2V without batch
norm (the estimate: 10.0), and by 20 bytes per parameter for N2V's weights (the estimate: 24). The
factors are round numbers that keep every estimate, and each growth, above what was measured. On a GPU,
N2N's bfloat16 autocast keeps smaller activations, so the estimate stays an upper bound there; the safety
margin (SAFETY_MARGIN) comes on top.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from shared.errors import ConfigError
from shared.methods.n2n import CROP_MULTIPLE, N2NConfig
from shared.methods.n2v import N2VConfig

FLOAT_BYTES = 4
PARAMETER_COPIES = 6
"""Weights, their gradients, Adam's two moments, and two temporaries of the update (n2v's Keras measured 20
bytes, 5 copies, per parameter; one more keeps the estimate above it)."""
N2N_ACTIVATION_FACTOR = 2.25
"""float32 values held per counted activation value (calibrated, see the module's docstring): PyTorch keeps
each convolution's input and the LeakyReLU's input, and the backward pass its gradients beside them."""
N2V_ACTIVATION_FACTOR = 1.5
"""The same for n2v's Keras U-Net (calibrated), whose ReLU keeps only its output."""
N2N_FRAMEWORK_BYTES = 512 << 20
"""What an N2N worker holds besides the step's estimate: PyTorch (324 MiB measured after `import torch`) and
the fixed part of the first step (about 120 MiB measured: oneDNN's kernels and workspaces)."""
N2V_FRAMEWORK_BYTES = 1 << 30
"""The same for N2V: TensorFlow with n2v (663 MiB measured after the import) and the first step's fixed part
(about 60 MiB measured)."""
SAFETY_MARGIN = 1.25
"""The estimate must fit WORKER_MEMORY_BYTES with this much to spare: allocator fragmentation, the data
and validation batches, the framework's own workspaces are not modelled."""
N2N_WHOLE_SLICE_SIDE = 512
"""N2N without crops trains on whole slices: the slice area the config alone assumes when no input says."""

Layer = tuple[int, int, int]
"""A convolution: (input channels, output channels, resolution level; level l has 2**-l of the sides)."""


@dataclass(frozen=True)
class StepCost:
    """The estimated memory of one training step of a config, in bytes."""

    parameters: int
    weights_bytes: int
    activation_bytes: int
    framework_bytes: int

    @property
    def step_bytes(self) -> int:
        """What the step itself adds to a worker that has loaded its framework: weights and activations."""
        return self.weights_bytes + self.activation_bytes

    @property
    def needed_bytes(self) -> int:
        """What the worker needs for the step: the framework and the step with the safety margin."""
        return self.framework_bytes + round(SAFETY_MARGIN * self.step_bytes)


def n2n_layers(context: int = 0, noise_map: bool = False) -> list[Layer]:
    """The convolutions of the N2N U-Net (services/n2n/model.py: 48 channels down, 96 up, five poolings); its
    input is 2 context + 1 slices, plus the noise-level map of a noise-aware network (the prior)."""
    c = 2 * context + 1 + int(noise_map)
    down = [(c, 48, 0), (48, 48, 0), *((48, 48, level) for level in range(1, 6))]
    up = [(96, 96, 4), (96, 96, 4)]
    for level in (3, 2, 1):
        up += [(144, 96, level), (96, 96, level)]
    return down + up + [(96 + c, 64, 0), (64, 32, 0), (32, 1, 0)]


def n2v_layers(first: int, depth: int, n2v2: bool = False) -> list[Layer]:
    """The convolutions of n2v's U-Net (n2v/nets/unet_blocks.py: two per level, channels doubling per level
    down; up, the first of each level has `first` channels, N2V2's a level's own without its top skip), the
    last one its 1x1 output convolution."""
    layers: list[Layer] = []
    channels = 1
    for level in range(depth):
        layers += [(channels, first * 2**level, level), (first * 2**level, first * 2**level, level)]
        channels = first * 2**level
    below = first * 2 ** max(0, depth - 1)
    layers += [(channels, first * 2**depth, depth), (first * 2**depth, below, depth)]
    for level in reversed(range(depth)):
        if n2v2:
            skip = first * 2 ** (level - 1) if level > 0 else 0
            inner = first * 2**level if level > 0 else first
        else:
            skip, inner = first * 2**level, first
        out = first * 2 ** max(0, level - 1)
        layers += [(below + skip, inner, level), (inner, out, level)]
        below = out
    return [*layers, (below, 1, 0)]


def _parameters(layers: list[Layer], kernel_volume: int, last_kernel_volume: int) -> int:
    """Weights and biases of the convolutions (n2v's output convolution is 1x1, N2N's 3x3)."""
    *body, (cin, cout, _) = layers
    return sum(a * b * kernel_volume + b for a, b, _ in body) + cin * cout * last_kernel_volume + cout


def _values_per_pixel(layers: list[Layer], dims: int, outputs: int) -> float:
    """Activation values kept per input pixel: each convolution's input, and `outputs` values per output
    channel (1: the activation's; 2 with batch norm, whose output is kept as well)."""
    return sum((cin + outputs * cout) * 2.0 ** (-dims * level) for cin, cout, level in layers)


def step_memory(config: N2NConfig | N2VConfig, *, slice_area: int | None = None) -> StepCost:
    """The estimated memory of one training step of `config`.

    `slice_area`: N2N without crops (`crop_size` None) trains on whole slices, of this many pixels (padded to
    multiples of 32); None assumes N2N_WHOLE_SLICE_SIDE squared.
    """
    if isinstance(config, N2NConfig):
        layers = n2n_layers(config.context, config.noise_map)
        parameters = _parameters(layers, 9, 9)
        if config.crop_size is not None:
            area = config.crop_size**2
        else:
            area = slice_area if slice_area is not None else N2N_WHOLE_SLICE_SIDE**2
        values = _values_per_pixel(layers, 2, 1) * config.batch_size * area
        activations = round(N2N_ACTIVATION_FACTOR * FLOAT_BYTES * values)
        framework = N2N_FRAMEWORK_BYTES
    else:
        layers = n2v_layers(config.unet_n_first, config.unet_n_depth, config.n2v2)
        parameters = _parameters(layers, config.unet_kern_size**config.dims, 1)
        outputs = 2 if config.batch_norm else 1
        values = (
            _values_per_pixel(layers, config.dims, outputs)
            * config.batch_size
            * config.patch_size**config.dims
        )
        activations = round(N2V_ACTIVATION_FACTOR * FLOAT_BYTES * values)
        framework = N2V_FRAMEWORK_BYTES
    weights = parameters * FLOAT_BYTES * PARAMETER_COPIES
    return StepCost(parameters, weights, activations, framework)


def _gib(n: int) -> str:
    """Bytes as GiB with one decimal, the unit a worker's memory is set in; MiB below 1 GiB."""
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{max(1, round(n / 2**20))} MiB"


def _largest(values: range, fits: Callable[[int], bool]) -> int | None:
    """The first of `values` (descending) that fits: the cost grows with each setting."""
    return next((value for value in values if fits(value)), None)


def largest_fitting(
    config: N2NConfig | N2VConfig, limit: int, *, slice_area: int | None = None
) -> Iterator[str]:
    """The largest value of each size setting that fits `limit`, the config's other settings as given
    (e.g. "batch_size <= 48 at crop_size 128"); a setting no value of which fits is left out."""

    def fits(field: str) -> Callable[[int], bool]:
        def test(value: int) -> bool:
            changed = config.model_copy(update={field: value})
            return step_memory(changed, slice_area=slice_area).needed_bytes <= limit

        return test

    if isinstance(config, N2NConfig):
        size = "whole slices" if config.crop_size is None else f"crop_size {config.crop_size}"
        side = config.crop_size or N2N_WHOLE_SLICE_SIDE
        if config.crop_size is None and slice_area is not None:
            side = max(CROP_MULTIPLE, round(slice_area**0.5) // CROP_MULTIPLE * CROP_MULTIPLE)
        knobs = [
            ("batch_size", range(config.batch_size - 1, 0, -1), f" at {size}"),
            ("crop_size", range(side - CROP_MULTIPLE, CROP_MULTIPLE - 1, -CROP_MULTIPLE), ""),
        ]
    else:
        block = 2**config.unet_n_depth
        knobs = [
            ("batch_size", range(config.batch_size - 1, 0, -1), f" at patch_size {config.patch_size}"),
            ("patch_size", range(config.patch_size - block, max(8, block) - 1, -block), ""),
            ("unet_n_first", range(config.unet_n_first - 1, 3, -1), ""),
            ("unet_n_depth", range(config.unet_n_depth - 1, 0, -1), ""),
        ]
    for field, values, where in knobs:
        best = _largest(values, fits(field))
        if best is not None:
            yield f"{field} <= {best}{where}"


def check_step_memory(config: N2NConfig | N2VConfig, limit: int, *, slice_area: int | None = None) -> None:
    """Refuse (ConfigError, a 422 / exit 2) a config one training step of which would not fit a worker of
    `limit` bytes (WORKER_MEMORY_BYTES), naming the estimate, the limit and the largest settings that fit."""
    cost = step_memory(config, slice_area=slice_area)
    if cost.needed_bytes <= limit:
        return
    fitting = list(largest_fitting(config, limit, slice_area=slice_area))
    advice = (
        "what fits, each with the other settings as given: " + ", ".join(fitting)
        if fitting
        else "no smaller batch, patch or network fits; raise WORKER_MEMORY_BYTES"
    )
    raise ConfigError(
        f"one training step of this {config.method} config needs about {_gib(cost.needed_bytes)} of memory "
        f"(estimated: {_gib(cost.activation_bytes)} of activations and {_gib(cost.weights_bytes)} of weights "
        f"and optimiser state, with a {SAFETY_MARGIN:g}x margin, plus {_gib(cost.framework_bytes)} for the "
        f"framework), more than a worker's {_gib(limit)} (WORKER_MEMORY_BYTES); {advice}"
    )
