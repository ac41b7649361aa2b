"""Pretraining the prior on generated heads: a loadable model directory that records every head it saw,
resumable under the project's one rule, and provably not made from the benchmark's MNI152 template."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from benchmarks.data import load_mni
from services.n2n.predict import load_model
from services.n2n.prior.pool import VALIDATION_OFFSET
from services.n2n.prior.pretrain import PretrainConfig, pretrain
from services.n2n.prior.synthetic import GENERATOR_VERSION
from shared.errors import ConfigError
from shared.manifest import ModelManifest, read_manifest
from shared.models.builtin import PRIOR_DIR, PRIOR_ID, prior_available, resolve_model

pytestmark = pytest.mark.slow  # generates three heads (seconds each) and trains a few steps

TINY = PretrainConfig(
    train_volumes=2,
    val_volumes=1,
    epochs=1,
    steps_per_epoch=2,
    batch_size=2,
    crop_size=32,
    val_per_level=2,
    val_crop=32,
)
"""A pretraining of seconds: two training heads, one validation head, two steps."""


def digest(data: np.ndarray) -> str:
    """sha256 of an array's float32 bytes, as SyntheticVolume.sha256 computes it."""
    return hashlib.sha256(np.ascontiguousarray(data, dtype=np.float32).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated heads of this module, made once."""
    return tmp_path_factory.mktemp("synthetic-cache")


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> tuple[Path, ModelManifest]:
    """One tiny pretraining, shared by the tests that read its result."""
    out_dir = tmp_path_factory.mktemp("prior")
    lines: list[str] = []
    manifest = pretrain(TINY, out_dir, cache=cache, log=lines.append)
    assert any("epoch 1/1" in line for line in lines)
    return out_dir, manifest


@pytest.fixture(scope="module")
def mni_hashes() -> set[str]:
    """Hashes of the MNI152 template as the benchmark and nilearn give it, at 1 and 2 mm, raw and normalised."""
    from nilearn.datasets import load_mni152_template

    arrays = [load_mni().data, load_mni(downsample=2).data]
    for resolution in (1, 2):
        raw = np.asarray(load_mni152_template(resolution=resolution).get_fdata(), dtype=np.float32)
        arrays += [raw, raw.transpose(2, 1, 0)]
    normalised = [(a - a.min()) / (a.max() - a.min()) for a in arrays]
    return {digest(a) for a in arrays + normalised}


def test_pretraining_writes_a_model_directory_every_loader_reads(pretrained) -> None:
    out_dir, manifest = pretrained
    loaded = load_model(out_dir)
    assert loaded.config.noise_map and loaded.config.residual and loaded.config.targets == "clean"
    assert read_manifest(out_dir, "n2n").files == manifest.files
    assert manifest.validation["epochs_trained"] == 1
    assert np.isfinite(manifest.validation["val_loss"])


def test_manifest_lists_one_hash_per_generated_head(pretrained, cache: Path) -> None:
    """The pretraining set is auditable: the generator, its seed, and the sha256 of every head seen."""
    _, manifest = pretrained
    data = manifest.data
    assert data["source"] == "synthetic"
    assert data["generator"] == GENERATOR_VERSION
    assert data["seed"] == TINY.seed
    assert len(data["train_sha256"]) == TINY.train_volumes
    assert len(data["val_sha256"]) == TINY.val_volumes
    hashes = data["train_sha256"] + data["val_sha256"]
    assert len(set(hashes)) == len(hashes)  # all different heads; validation never a training head
    # Each hash is that of a head the generator made (kept in the cache as generated).
    folder = cache / GENERATOR_VERSION.replace("/", "-") / str(TINY.seed)
    indices = [*range(TINY.train_volumes), *range(VALIDATION_OFFSET, VALIDATION_OFFSET + TINY.val_volumes)]
    assert [digest(np.load(folder / f"{index}.npy")) for index in indices] == hashes


def test_resume_with_more_epochs_continues(pretrained, cache: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "prior"
    shutil.copytree(pretrained[0], out_dir)
    more = TINY.model_copy(update={"epochs": 2})
    manifest = pretrain(more, out_dir, resume=True, cache=cache, log=lambda _: None)
    assert manifest.validation["epochs_trained"] == 2
    assert [record["epoch"] for record in manifest.validation["history"]] == [1, 2]
    load_model(out_dir)


def test_resume_with_another_setting_is_refused(pretrained, cache: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "prior"
    shutil.copytree(pretrained[0], out_dir)
    before = (out_dir / "model.safetensors").read_bytes()
    changed = TINY.model_copy(update={"epochs": 2, "lr": TINY.lr / 2})
    with pytest.raises(ConfigError, match="lr"):
        pretrain(changed, out_dir, resume=True, cache=cache, log=lambda _: None)
    assert (out_dir / "model.safetensors").read_bytes() == before  # the refused run touched nothing


def test_a_run_can_start_from_another_prior_and_records_it(pretrained, cache: Path, tmp_path: Path) -> None:
    """--start-from continues from a model directory's weights (a robustness run from the shipped prior): the
    first step starts from those weights, and the manifest names them by sha256."""
    source, source_manifest = pretrained
    still = TINY.model_copy(update={"lr": 1e-12, "start_from": str(source)})  # a step that cannot move
    manifest = pretrain(still, tmp_path / "next", cache=cache, log=lambda _: None)
    assert manifest.data["started_from"] == {
        "model_dir": str(source),
        "weights_sha256": source_manifest.files["model.safetensors"],
    }
    before = load_model(source).network.state_dict()
    after = load_model(tmp_path / "next").network.state_dict()
    assert all(np.allclose(before[name].numpy(), after[name].numpy(), atol=1e-6) for name in before)


def test_a_run_cannot_start_from_another_architecture(pretrained, cache: Path, tmp_path: Path) -> None:
    source = tmp_path / "other"
    shutil.copytree(pretrained[0], source)
    manifest = json.loads((source / "manifest.json").read_text())
    manifest["config"]["context"] = 0
    (source / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="context"):
        pretrain(
            TINY.model_copy(update={"start_from": str(source)}),
            tmp_path / "next",
            cache=cache,
            log=lambda _: None,
        )


def test_no_pretraining_head_is_the_benchmark_template(pretrained, mni_hashes: set[str]) -> None:
    """The benchmark scores the prior on the MNI152 template: it must never have been trained on it."""
    _, manifest = pretrained
    hashes = set(manifest.data["train_sha256"] + manifest.data["val_sha256"])
    assert hashes.isdisjoint(mni_hashes)


def test_no_generated_head_resembles_the_template(pretrained, cache: Path) -> None:
    """Not the template, and not a copy of it either: central slices correlate weakly with it (< 0.9)."""
    del pretrained  # the heads are in the cache once it has run
    template = load_mni(downsample=2).data
    folder = cache / GENERATOR_VERSION.replace("/", "-") / str(TINY.seed)
    heads = sorted(folder.glob("*.npy"))
    assert len(heads) == TINY.train_volumes + TINY.val_volumes
    for path in heads:
        head = np.load(path)
        resized = ndimage.zoom(
            template, [n / t for n, t in zip(head.shape, template.shape, strict=True)], order=1
        )
        resized = resized[tuple(slice(0, n) for n in head.shape)]
        for axis in range(3):
            centre = head.shape[axis] // 2
            cut = [slice(None)] * 3
            cut[axis] = slice(max(centre - 1, 0), centre + 2)
            a, b = head[tuple(cut)], resized[tuple(cut)]
            # Two heads in air correlate by their outlines alone (0.5-0.8 measured): a copy would be ~1.
            assert abs(float(np.corrcoef(a.ravel(), b.ravel())[0, 1])) < 0.9, (path.name, axis)
            # Inside both heads only the anatomy counts (0.3 at most measured).
            inside = (a > 0.05 * a.max()) & (b > 0.05 * b.max())
            assert abs(float(np.corrcoef(a[inside], b[inside])[0, 1])) < 0.6, (path.name, axis)


@pytest.mark.skipif(not prior_available(), reason="this checkout carries no shipped prior")
def test_shipped_prior_was_pretrained_on_generated_heads_only(mni_hashes: set[str]) -> None:
    """The prior in the package: synthetic data only, every head hashed, none the MNI152 template."""
    document = json.loads((PRIOR_DIR / "manifest.json").read_text())
    data = document["data"]
    assert data["source"] == "synthetic"
    assert data["generator"].startswith("synthetic-heads/")
    train, val = data["train_sha256"], data["val_sha256"]
    assert len(train) == data["train_volumes"] == data["pretraining"]["train_volumes"]
    assert len(val) == data["val_volumes"] == data["pretraining"]["val_volumes"]
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in train + val)
    assert len(set(train + val)) == len(train) + len(val)
    assert set(train + val).isdisjoint(mni_hashes)
    # No other data source is listed: no file, volume or path of any scan.
    assert not {"volumes", "files", "paths", "pairs"} & data.keys()


@pytest.mark.skipif(not prior_available(), reason="this checkout carries no shipped prior")
def test_shipped_prior_is_the_n2n_default_and_loads() -> None:
    assert resolve_model(None, "n2n") == PRIOR_DIR
    assert resolve_model(PRIOR_ID, "n2n") == PRIOR_DIR
    loaded = load_model(PRIOR_DIR)
    assert loaded.config.noise_map  # the prior is told the noise level
