"""Which anatomical direction each voxel axis of an affine points along (nibabel's orientation codes)."""

from __future__ import annotations

import nibabel.orientations as nio
import numpy as np


def axis_codes(affine: np.ndarray) -> tuple[str, str, str]:
    """For voxel axes (x, y, z): the RAS+ letter each one points towards most, e.g. ('R', 'A', 'S')."""
    x, y, z = nio.aff2axcodes(np.asarray(affine))
    return (str(x), str(y), str(z))
