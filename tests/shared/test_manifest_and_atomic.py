"""Model manifests with checksums, and atomic writes that never leave half a file."""

from __future__ import annotations

import pytest

from shared.atomic import atomic_directory, atomic_path, atomic_write_text
from shared.errors import InvalidModelError, ModelNotFoundError
from shared.manifest import read_manifest, write_manifest


def _model_dir(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\x00\x01" * 100)
    write_manifest(
        model,
        method="n2n",
        framework="torch test",
        config={"epochs": 1},
        data={},
        validation={},
        files=["weights.bin"],
    )
    return model


def test_manifest_round_trip_verifies_checksums(tmp_path):
    """A written manifest reads back with the file's sha256 verified."""
    manifest = read_manifest(_model_dir(tmp_path), "n2n")
    assert manifest.method == "n2n" and set(manifest.files) == {"weights.bin"}


def test_tampered_weights_are_refused(tmp_path):
    """A weight file changed after training fails its checksum with a clear message."""
    model = _model_dir(tmp_path)
    (model / "weights.bin").write_bytes(b"\xff" * 200)
    with pytest.raises(InvalidModelError, match=r"weights\.bin does not match its checksum"):
        read_manifest(model)


def test_wrong_method_missing_file_and_missing_dir(tmp_path):
    """An n2n model asked for as n2v, a missing weight file and a missing directory are each refused."""
    model = _model_dir(tmp_path)
    with pytest.raises(InvalidModelError, match="this is a n2n model, not a n2v model"):
        read_manifest(model, "n2v")
    (model / "weights.bin").unlink()
    with pytest.raises(InvalidModelError, match=r"missing model file weights\.bin"):
        read_manifest(model)
    with pytest.raises(ModelNotFoundError, match="no model directory at"):
        read_manifest(tmp_path / "nothing")


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    """A write that fails midway leaves neither the final file nor a temporary one."""
    target = tmp_path / "out.nii.gz"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_replaces_whole(tmp_path):
    """An atomic directory appears complete, replacing an older one."""
    final = tmp_path / "job"
    atomic_write_text(final / "old.txt", "old")
    with atomic_directory(final) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["job"]
