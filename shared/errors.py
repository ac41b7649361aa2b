"""One exception hierarchy for everything fetal-denoise refuses or fails at.

FetalDenoiseError                  base of every error this project raises on purpose
├── InputError                     the caller's input is wrong (HTTP 4xx, CLI exit 2)
│   ├── UnsupportedFormatError     file name / content is no format we read or write (415)
│   ├── UnreadableVolumeError      a known format, but the bytes do not decode (truncated, random) (422)
│   ├── InvalidVolumeError         decodes, but cannot be denoised (422)
│   │   ├── EmptyVolumeError       no voxels
│   │   ├── ConstantVolumeError    every voxel has the same value (no range to normalise)
│   │   ├── NonFiniteVoxelsError   NaN or Inf voxels
│   │   └── TooManyVolumesError    a 4D file with more than one volume
│   ├── AmbiguousSeriesError       several DICOM series and no choice made (422)
│   ├── UnsafeArchiveError         zip slip, zip bomb, too many members (422)
│   ├── TooLargeError              over a configured size limit (413)
│   ├── ShapeMismatchError         two volumes that must match do not (422)
│   ├── ConfigError                hyper-parameters out of range or unknown (422)
│   ├── ModelNotFoundError         no model with that id / directory (404)
│   ├── JobNotFoundError           no job with that id (404)
│   └── InvalidModelError          a model directory that is corrupt or of the wrong method (422)
├── StorageFullError               no room on the server's disk for the request (HTTP 507)
└── JobError                       a job could not be run for a reason that is not the input's
    └── JobCancelledError          the job was cancelled while queued or running
"""

from __future__ import annotations


class FetalDenoiseError(Exception):
    """Base of every error this project raises on purpose; str(error) is the user-facing message."""


class InputError(FetalDenoiseError):
    """The caller's input is wrong; retrying the same input fails the same way."""


class UnsupportedFormatError(InputError):
    """The file is not a format this project reads or writes."""


class UnreadableVolumeError(InputError):
    """The file claims a supported format but its content cannot be decoded."""


class InvalidVolumeError(InputError):
    """The volume decodes but cannot be denoised as it is."""


class EmptyVolumeError(InvalidVolumeError):
    """The volume has no voxels."""


class ConstantVolumeError(InvalidVolumeError):
    """Every voxel has the same value, so there is no intensity range to normalise."""


class NonFiniteVoxelsError(InvalidVolumeError):
    """The volume contains NaN or infinite voxels."""


class TooManyVolumesError(InvalidVolumeError):
    """A 4D file holds more than one volume."""


class AmbiguousSeriesError(InputError):
    """A DICOM upload holds several series and none was chosen."""


class UnsafeArchiveError(InputError):
    """An archive is hostile or over its limits (path traversal, bomb, too many members)."""


class TooLargeError(InputError):
    """An input is over a configured size limit."""


class ShapeMismatchError(InputError):
    """Two volumes that must have the same shape (or geometry) do not."""


class StorageFullError(FetalDenoiseError):
    """The server's disk has no room for what the request would store; not the caller's input's fault."""


class ConfigError(InputError):
    """A configuration or set of hyper-parameters is invalid."""


class ModelNotFoundError(InputError):
    """No model exists under the given id or directory."""


class JobNotFoundError(InputError):
    """No job exists under the given id (never created, or deleted)."""


class InvalidModelError(InputError):
    """A model directory is corrupt, incomplete, tampered with or of another method."""


class JobError(FetalDenoiseError):
    """A job failed for a reason that is not the caller's input."""


class JobCancelledError(JobError):
    """The job was cancelled (DELETE /jobs/{id}) while it was queued or running."""
