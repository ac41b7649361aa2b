"""NIfTI previews of a denoising job's input, result and difference, for the web page's volume viewer.

The viewer only ever loads gzipped NIfTI. A `.nii.gz` input or result is served as it is; any other format
(a DICOM series zip, a multi-frame `.dcm`, `.npy`, a plain `.nii`) is read with the project's own reader and
written once as `jobs/<id>/previews/<kind>.nii.gz` by its own writer, geometry kept: a NIfTI header stays
as it was, a DICOM series' position, orientation and spacing become the affine. The difference is
input - result, in the input's units, on the input's grid: what the denoiser removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from services.gateway.uploads import read_slot
from shared.errors import InputError, JobNotFoundError
from shared.io import ReadLimits, read_volume, write_volume
from shared.io.formats import canonical_suffix
from shared.jobs.store import JobRecord, is_cancelled, job_dir, remove_job_files
from shared.settings import Settings
from shared.volume import Volume, check_same_shape

PreviewKind = Literal["input", "result", "difference"]
PREVIEW_DIR = "previews"
PREVIEW_SUFFIX = ".nii.gz"


class NoPreviewError(InputError):
    """The job has no volume of that kind to preview (not a denoising job)."""


def input_file(data_dir: Path, record: JobRecord) -> Path:
    """Where the gateway stored a denoising job's main upload (see uploads.store_volume)."""
    name = record.inputs.get("file")
    if record.kind != "denoise" or name is None or record.input_format is None:
        raise NoPreviewError(f"job {record.id} is a {record.kind} job: it has no volume to preview")
    return job_dir(data_dir, record.id) / "inputs" / f"input{canonical_suffix(name, record.input_format)}"


def result_file(data_dir: Path, record: JobRecord) -> Path:
    """Where the worker writes a denoising job's result."""
    if record.kind != "denoise" or record.result is None:
        raise NoPreviewError(f"job {record.id} is a {record.kind} job: it has no volume to preview")
    return job_dir(data_dir, record.id) / record.result


def preview_file(data_dir: Path, record: JobRecord, kind: PreviewKind, settings: Settings) -> Path:
    """The gzipped NIfTI preview of `kind`, derived and cached on first use (result and difference need the
    result on disk: the caller checks that the job succeeded)."""
    if kind != "difference":
        source = input_file(data_dir, record) if kind == "input" else result_file(data_dir, record)
        if source.name.lower().endswith(PREVIEW_SUFFIX):
            return source
    cached = job_dir(data_dir, record.id) / PREVIEW_DIR / f"{kind}{PREVIEW_SUFFIX}"
    if cached.is_file():
        return cached
    limits = ReadLimits.from_settings(settings)
    result_name = f"the result of job {record.id}"
    if kind == "result":
        volume = _read(result_file(data_dir, record), result_name, limits, settings)
    else:
        volume = _read(
            input_file(data_dir, record), record.inputs["file"], limits, settings, record.series_uid
        )
    if kind == "difference":
        result = _read(result_file(data_dir, record), result_name, limits, settings)
        check_same_shape(volume, result, record.inputs["file"], result_name)
        volume = volume.with_data(volume.data - result.data)
    write_volume(volume, cached, description=f"{kind} preview" if kind != "difference" else "input - result")
    if is_cancelled(data_dir, record.id):  # cancelled while we wrote: leave none of its data behind
        remove_job_files(data_dir, record.id)
        raise JobNotFoundError(f"no job with id {record.id!r}")
    return cached


def _read(
    path: Path, name: str, limits: ReadLimits, settings: Settings, series_uid: str | None = None
) -> Volume:
    """A stored volume (the series the job read, in a multi-series DICOM), named as its uploader knows it,
    read in one of the gateway's read slots."""
    with read_slot(settings):
        return read_volume(path, limits=limits, name=name, series_uid=series_uid)
