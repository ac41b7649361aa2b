"""Model files on disk: weights, the resumable per-epoch checkpoint, and the training state.

Nothing here is ever unpickled. Tensors (weights, Adam moments, the torch RNG state) are stored as
safetensors; everything else (the shared TrainingState: epoch, history, config; and Adam's hyper-parameters) is
JSON in the safetensors header's metadata. The checkpoint is one file replaced atomically, so a training killed
at any instant leaves either the previous epoch's checkpoint or this one, never a mix.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import safe_open, save_file
from torch import nn

from shared.atomic import atomic_path
from shared.errors import InvalidModelError
from shared.training.state import TrainingState

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
CHECKPOINT_NAME = "checkpoint.safetensors"
CHECKPOINT_FORMAT = "fetal-denoise/n2n-checkpoint/2"
WEIGHTS_FORMAT = "fetal-denoise/n2n-weights/1"
CONFIG_FORMAT = "fetal-denoise/n2n-config/1"
ARCHITECTURE = "noise2noise-unet"


def has_checkpoint(out_dir: Path) -> bool:
    """Whether `out_dir` holds a checkpoint that `train(..., resume=True)` can continue from."""
    return (Path(out_dir) / CHECKPOINT_NAME).is_file()


def save_weights(path: Path, model: nn.Module) -> None:
    """Write the model's weights as safetensors, atomically."""
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": WEIGHTS_FORMAT})


def load_weights(path: Path, model: nn.Module) -> None:
    """Load safetensors weights into `model`; any mismatch is an InvalidModelError."""
    tensors, _ = _read(path)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise InvalidModelError(f"{path}: weights do not fit the N2N U-Net ({first_line})") from exc


def save_checkpoint(
    out_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer, state: TrainingState
) -> Path:
    """Write model, Adam state, torch RNG state and `state` as one file, atomically."""
    tensors = {f"model.{name}": t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    optim_state = optimizer.state_dict()
    for param_id, entries in optim_state["state"].items():
        for key, value in entries.items():
            tensors[f"optim.{param_id}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "state": state.model_dump_json(),
        "param_groups": json.dumps(optim_state["param_groups"]),
    }
    path = Path(out_dir) / CHECKPOINT_NAME
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def load_checkpoint(out_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> TrainingState:
    """Restore model, optimizer and torch RNG from `out_dir`'s checkpoint; return the training state."""
    path = Path(out_dir) / CHECKPOINT_NAME
    tensors, metadata = _read(path)
    if metadata.get("format") != CHECKPOINT_FORMAT:
        raise InvalidModelError(f"{path}: not an N2N training checkpoint")
    try:
        state = TrainingState.model_validate_json(metadata["state"])
        param_groups = json.loads(metadata["param_groups"])
    except (KeyError, ValueError, ValidationError) as exc:
        raise InvalidModelError(f"{path}: unreadable training state ({exc.__class__.__name__})") from exc
    model_tensors = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    optim: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, param_id, name = key.split(".", 2)
            optim.setdefault(int(param_id), {})[name] = value
    for group in param_groups:
        group["betas"] = tuple(group["betas"])
    try:
        model.load_state_dict(model_tensors, strict=True)
        optimizer.load_state_dict({"state": optim, "param_groups": param_groups})
    except (RuntimeError, ValueError, KeyError) as exc:
        raise InvalidModelError(
            f"{path}: checkpoint does not fit this model ({exc.__class__.__name__})"
        ) from exc
    torch.set_rng_state(tensors["rng.torch"])
    return state


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors and the metadata of a safetensors file; a damaged file is an InvalidModelError."""
    if not path.is_file():
        raise InvalidModelError(f"{path.parent}: missing model file {path.name}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            return {key: handle.get_tensor(key) for key in handle.keys()}, metadata  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        raise InvalidModelError(f"{path}: unreadable safetensors file ({exc})") from exc
