"""Job records, tombstones and the model registry in the data directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.errors import InvalidModelError, JobNotFoundError, ModelNotFoundError
from shared.jobs.paths import data_path
from shared.jobs.registry import (
    ModelAccess,
    access_path,
    delete_model,
    get_model,
    list_models,
    read_access,
    register_model,
    write_access,
)
from shared.jobs.store import (
    JobRecord,
    JobStep,
    is_cancelled,
    mark_cancelled,
    read_record,
    remove_job_files,
    utcnow,
    write_record,
)
from shared.manifest import write_manifest


def _record(job_id: str = "job1") -> JobRecord:
    """A one-step denoise job."""
    step = JobStep(name="denoise", task="n2v.denoise", task_id=f"{job_id}-denoise")
    return JobRecord(
        id=job_id, kind="denoise", method="n2v", created=utcnow(), steps=[step], result="result.npy"
    )


def _trained(folder: Path, method: str = "n2n") -> Path:
    """A finished model folder (one weight file and its manifest)."""
    folder.mkdir(parents=True)
    (folder / "w.bin").write_bytes(b"123")
    write_manifest(folder, method=method, framework="t", config={}, data={}, validation={}, files=["w.bin"])  # type: ignore[arg-type]
    return folder


def test_record_round_trips_and_cancelled_jobs_vanish(tmp_path: Path):
    """A written record reads back; after a tombstone the job is not found, and its files can go."""
    write_record(tmp_path, _record())
    assert read_record(tmp_path, "job1") == _record().model_copy(
        update={"created": read_record(tmp_path, "job1").created}
    )
    mark_cancelled(tmp_path, "job1")
    assert is_cancelled(tmp_path, "job1")
    with pytest.raises(JobNotFoundError, match="no job with id 'job1'"):
        read_record(tmp_path, "job1")
    remove_job_files(tmp_path, "job1")
    assert list((tmp_path / "jobs").iterdir()) == []


def test_ids_and_payload_paths_cannot_escape_the_data_directory(tmp_path: Path):
    """Path-like ids are unknown ids; payload paths outside DATA_DIR are refused."""
    with pytest.raises(JobNotFoundError):
        read_record(tmp_path, "../etc")
    with pytest.raises(ModelNotFoundError, match=re.escape("no model with id '../x'")):
        get_model(tmp_path, "../x")
    for bad in ("/etc/passwd", "jobs/../../x"):
        with pytest.raises(ValueError, match="outside the data directory"):
            data_path(tmp_path, bad)
    assert data_path(tmp_path, "jobs/a/input.nii") == (tmp_path / "jobs/a/input.nii").resolve()


def test_registry_registers_lists_and_deletes(tmp_path: Path):
    """A trained folder is moved in whole; listed; found by method; deleted."""
    register_model(tmp_path, "n2n-one", _trained(tmp_path / "work" / "model"))
    assert not (tmp_path / "work" / "model").exists()
    assert [entry.id for entry in list_models(tmp_path)] == ["n2n-one"]
    assert get_model(tmp_path, "n2n-one", expected_method="n2n", verify=True).manifest.files
    with pytest.raises(InvalidModelError, match="this is a n2n model, not a n2v model"):
        get_model(tmp_path, "n2n-one", expected_method="n2v")
    delete_model(tmp_path, "n2n-one")
    assert list_models(tmp_path) == []
    with pytest.raises(ModelNotFoundError):
        delete_model(tmp_path, "n2n-one")


def test_a_folder_without_manifest_is_neither_listed_nor_registered(tmp_path: Path):
    """Half-written models stay invisible, and cannot be registered."""
    (tmp_path / "models" / "n2n-partial").mkdir(parents=True)
    assert list_models(tmp_path) == []
    (tmp_path / "work").mkdir()
    with pytest.raises(InvalidModelError):
        register_model(tmp_path, "n2n-two", tmp_path / "work")


def test_a_models_access_record_is_not_a_model_and_goes_with_it(tmp_path: Path):
    """The owner file beside the registry is never listed as a model, survives the worker's registration
    (which replaces the model folder whole) and is removed with the model."""
    write_access(tmp_path, "n2n-x", ModelAccess(owner="alice"))
    register_model(tmp_path, "n2n-x", _trained(tmp_path / "trained"))
    assert [entry.id for entry in list_models(tmp_path)] == ["n2n-x"]
    assert read_access(tmp_path, "n2n-x") == ModelAccess(owner="alice", shared=False)
    delete_model(tmp_path, "n2n-x")
    assert not access_path(tmp_path, "n2n-x").exists()
    assert read_access(tmp_path, "n2n-x") == ModelAccess()  # none: no owner, admins' only


def test_a_registered_models_errors_name_its_id_not_its_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """A wrong-method or corrupt registered model is refused by id; the server's path is only in the log."""
    register_model(tmp_path, "n2n-one", _trained(tmp_path / "work" / "model"))
    (tmp_path / "models" / "n2n-one" / "w.bin").write_bytes(b"tampered")
    for kwargs, reason in (
        ({"expected_method": "n2v"}, "this is a n2n model, not a n2v model"),
        ({"verify": True}, "w.bin does not match its checksum"),
    ):
        with pytest.raises(InvalidModelError, match=reason) as refused:
            get_model(tmp_path, "n2n-one", **kwargs)  # type: ignore[arg-type]
        assert str(refused.value).startswith("model 'n2n-one': ")
        assert str(tmp_path) not in str(refused.value)
    assert str(tmp_path / "models" / "n2n-one") in caplog.text
