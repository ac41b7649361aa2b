"""Loading a model directory: checks before use, and refusal of corrupt, incomplete or foreign models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from services.n2n.checkpoint import save_weights
from services.n2n.model import N2NUNet
from services.n2n.predict import load_model
from services.n2n.train import model_config_document
from shared.errors import InvalidModelError, ModelNotFoundError
from shared.manifest import write_manifest
from shared.methods.n2n import N2NConfig


def _write_model(model_dir: Path, network: N2NUNet | None = None) -> Path:
    """A well-formed (untrained) N2N model directory."""
    model_dir.mkdir(parents=True, exist_ok=True)
    save_weights(model_dir / "model.safetensors", network or N2NUNet())
    document = model_config_document(N2NConfig(epochs=1), 988_609)
    (model_dir / "config.json").write_text(json.dumps(document))
    write_manifest(
        model_dir,
        method="n2n",
        framework=f"torch {torch.__version__}",
        config=N2NConfig(epochs=1).model_dump(mode="json"),
        data={},
        validation={},
        files=["model.safetensors", "config.json"],
    )
    return model_dir


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A fresh model directory per test, to damage at will."""
    return _write_model(tmp_path / "model")


def test_a_good_directory_loads_with_its_weights(tmp_path: Path) -> None:
    """The loaded network has exactly the saved weights and the saved config."""
    torch.manual_seed(3)
    network = N2NUNet()
    loaded = load_model(_write_model(tmp_path / "model", network), device="cpu")
    assert loaded.config == N2NConfig(epochs=1)
    assert torch.equal(loaded.network.dec_conv3a.weight, network.dec_conv3a.weight)
    assert not loaded.network.training


def test_tampered_weights_are_refused(model_dir: Path) -> None:
    """One changed byte in the weights fails the checksum before anything is loaded."""
    weights = model_dir / "model.safetensors"
    content = bytearray(weights.read_bytes())
    content[len(content) // 2] ^= 0xFF
    weights.write_bytes(bytes(content))
    with pytest.raises(InvalidModelError) as caught:
        load_model(model_dir)
    assert (
        str(caught.value)
        == f"{model_dir}: model.safetensors does not match its checksum (corrupt or modified)"
    )


def test_missing_files_are_refused(model_dir: Path) -> None:
    """A directory without its config is incomplete."""
    (model_dir / "config.json").unlink()
    with pytest.raises(InvalidModelError) as caught:
        load_model(model_dir)
    assert str(caught.value) == f"{model_dir}: missing model file config.json"


def test_an_n2v_model_is_refused(model_dir: Path) -> None:
    """A directory whose manifest says n2v is not used as an N2N model."""
    manifest = json.loads((model_dir / "manifest.json").read_text())
    manifest["method"] = "n2v"
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InvalidModelError) as caught:
        load_model(model_dir)
    assert str(caught.value) == f"{model_dir}: this is a n2v model, not a n2n model"


def test_a_manifest_that_omits_the_weights_is_refused(model_dir: Path) -> None:
    """Checksums only protect listed files: a manifest must list the weights and the config."""
    manifest = json.loads((model_dir / "manifest.json").read_text())
    manifest["files"].pop("model.safetensors")
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InvalidModelError) as caught:
        load_model(model_dir)
    assert str(caught.value) == f"{model_dir}: the manifest does not list model.safetensors"


def test_weights_of_another_network_are_refused(model_dir: Path) -> None:
    """Consistent checksums but tensors of the wrong shape still fail, with a clear message."""
    save_file({"enc_conv0.weight": torch.zeros(3, 3)}, str(model_dir / "model.safetensors"))
    _write_model_manifest_only(model_dir)
    with pytest.raises(InvalidModelError, match=r"model\.safetensors: weights do not fit the N2N U-Net"):
        load_model(model_dir)


def test_no_directory_and_no_manifest(tmp_path: Path) -> None:
    """A missing directory is not found; a directory without manifest is not a model."""
    with pytest.raises(ModelNotFoundError):
        load_model(tmp_path / "absent")
    with pytest.raises(InvalidModelError) as caught:
        load_model(tmp_path)
    assert str(caught.value) == f"{tmp_path}: not a fetal-denoise model directory (no manifest.json)"


def _write_model_manifest_only(model_dir: Path) -> None:
    """Re-checksum the directory's files, as a careless tool would after swapping the weights."""
    write_manifest(
        model_dir,
        method="n2n",
        framework="torch",
        config={},
        data={},
        validation={},
        files=["model.safetensors", "config.json"],
    )
