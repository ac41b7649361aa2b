"""What a NIfTI volume remembers of its source file, so it can be written back as it was."""

from __future__ import annotations

from dataclasses import dataclass

import nibabel as nib
import numpy as np

from shared.volume import SourceMetadata


@dataclass(frozen=True, eq=False)
class NiftiSource(SourceMetadata):
    """The original header (geometry, codes, units, descrip), on-disk shape (2D, 3D or 4D), data type and
    scaling (scl_slope / scl_inter; 1 and 0 when the file had none)."""

    header: nib.Nifti1Header
    shape: tuple[int, ...]
    dtype: np.dtype
    slope: float = 1.0
    inter: float = 0.0
