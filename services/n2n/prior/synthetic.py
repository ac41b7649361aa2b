"""Procedural brain-like volumes for pretraining, in the style of SynthSeg and SynthMorph.

No scan of anyone, and nothing made from the benchmark's MNI152 template, goes into the prior: each volume
is drawn from a seed. A random smooth label map of a head (scalp, skull, CSF, a folded cortex with sulci,
white matter, deep nuclei, ventricles, vessels, each tissue split into random sub-labels as SynthMorph does)
becomes an image through TorchIO's own transforms, the field's library for this: `RandomLabelsToImage`
(a random intensity per label, so the network learns edges and textures, not one contrast), `RandomBlur`
(partial volume), `RandomBiasField`, `RandomGamma` and `RandomAnisotropy` (a low-resolution axis resampled
back). Some volumes are thick-slice stacks: blocks of 2-5 slices averaged along one axis, the shape of a
fetal stack of thick slices, whose slice axis is then the one the prior sees as its context.

Every volume is a pure function of (seed, index): the pretraining set is reproducible from its manifest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
import torchio as tio
from scipy import ndimage

GENERATOR_VERSION = "synthetic-heads/1"
"""Changes whenever the generator draws different volumes for the same seeds (the cache key holds it)."""

SHAPE = (128, 128, 128)
"""Voxels of a generated head before any thick-slice averaging (about 1.2-1.6 mm voxels of a real head)."""

BACKGROUND, SCALP, SKULL, CSF, GREY, WHITE, NUCLEI, VENTRICLES, VESSELS = range(9)
TISSUES = 9
SUBLABELS = 3
"""Each tissue but the background is split into up to 3 sub-labels with their own random intensity."""

T1_LIKE = (0.0, 0.55, 0.15, 0.2, 0.55, 0.8, 0.65, 0.2, 0.9)
T2_LIKE = (0.0, 0.5, 0.1, 0.95, 0.6, 0.4, 0.45, 1.0, 0.15)
"""Mean intensity per tissue of the two contrasts MRI users mostly meet (fetal scans are T2-weighted);
a third of the volumes get one of them, jittered, the rest random intensities per label (SynthSeg)."""


@dataclass(frozen=True)
class SyntheticVolume:
    """One generated head: its intensities (about [0, 1]), its labels and which axis is thick, if any."""

    image: np.ndarray
    labels: np.ndarray
    thick_axis: int | None
    """Axis whose voxels average 2-5 generated slices (a thick-slice stack), else None."""

    def sha256(self) -> str:
        """Digest of the image's float32 bytes: what the manifest records for the pretraining set."""
        return hashlib.sha256(np.ascontiguousarray(self.image, dtype=np.float32).tobytes()).hexdigest()


def smooth_field(shape: tuple[int, int, int], grid: int, rng: np.random.Generator) -> np.ndarray:
    """A random field of unit spread, smooth on the scale of shape / grid.

    A coarse grid of Gaussian values is upsampled cubically by 4 (cheap at that size), then linearly to the
    full shape: as smooth as a full cubic upsampling to the eye, at a twentieth of its time.
    """
    coarse = rng.standard_normal((grid,) * 3)
    medium = ndimage.zoom(coarse, 4, order=3, mode="reflect")
    field = F.interpolate(
        torch.from_numpy(medium[None, None].astype(np.float32)), size=shape, mode="trilinear"
    )
    out = field[0, 0].numpy()
    return (out - out.mean()) / (out.std() + 1e-8)


def head_labels(rng: np.random.Generator, shape: tuple[int, int, int] = SHAPE) -> np.ndarray:
    """A random head's tissue labels: nested, deformed ellipsoid shells with a folded cortex inside."""
    axes = [np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape]
    z, y, x = np.meshgrid(*axes, indexing="ij")
    radii = rng.uniform(0.62, 0.9, size=3)
    centre = rng.uniform(-0.06, 0.06, size=3)
    radius = np.sqrt(
        ((z - centre[0]) / radii[0]) ** 2
        + ((y - centre[1]) / radii[1]) ** 2
        + ((x - centre[2]) / radii[2]) ** 2
    )
    radius = radius + 0.05 * smooth_field(shape, 4, rng)  # an irregular head, never a perfect ellipsoid
    scalp, skull, csf = (rng.uniform(*span) for span in ((0.93, 0.97), (0.86, 0.9), (0.8, 0.84)))
    labels = np.full(shape, BACKGROUND, dtype=np.int16)
    labels[radius < 1.0] = SCALP
    labels[radius < scalp] = SKULL
    labels[radius < skull] = CSF
    # The cortex: a ribbon whose inner boundary folds (gyri), cut by CSF-filled sulci from the surface.
    folding = smooth_field(shape, int(rng.integers(12, 22)), rng)
    thickness = rng.uniform(0.07, 0.12)
    labels[radius < csf] = GREY
    labels[radius < csf - thickness * (1.6 + 1.6 * folding)] = WHITE
    sulci = (
        (np.abs(smooth_field(shape, int(rng.integers(8, 14)), rng)) < rng.uniform(0.12, 0.25))
        & (radius < csf)
        & (radius > csf - 2.2 * thickness)
    )
    labels[sulci] = CSF
    # Deep grey nuclei, then the ventricles (two deformed ellipsoids either side of the midline).
    for _ in range(int(rng.integers(2, 6))):
        labels[_blob(z, y, x, rng, centre_span=0.3, size=(0.07, 0.16), shape=shape)] = NUCLEI
    side = int(rng.integers(3))
    ventricle_size = rng.uniform(0.05, 0.14)
    for sign in (-1.0, 1.0):
        offset = np.zeros(3)
        offset[side] = sign * rng.uniform(0.05, 0.12)
        offset += rng.uniform(-0.05, 0.05, size=3)
        semi = (
            np.array([rng.uniform(0.5, 1.0), rng.uniform(1.5, 3.0), rng.uniform(0.6, 1.2)]) * ventricle_size
        )
        rng.shuffle(semi)
        inside = (
            ((z - offset[0]) / semi[0]) ** 2
            + ((y - offset[1]) / semi[1]) ** 2
            + ((x - offset[2]) / semi[2]) ** 2
        )
        labels[(inside + 0.3 * smooth_field(shape, 6, rng) < 1.0) & (radius < csf)] = VENTRICLES
    # Vessels and small lesions: thin, bright or dark specks anywhere in the head.
    vessels = smooth_field(shape, int(rng.integers(16, 28)), rng)
    labels[(np.abs(vessels) < rng.uniform(0.01, 0.04)) & (radius < skull)] = VESSELS
    return labels


def _blob(
    z: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    centre_span: float,
    size: tuple[float, float],
    shape: tuple[int, int, int],
) -> np.ndarray:
    """A random ellipsoid's mask near the centre."""
    centre = rng.uniform(-centre_span, centre_span, size=3)
    semi = rng.uniform(*size, size=3)
    return ((z - centre[0]) / semi[0]) ** 2 + ((y - centre[1]) / semi[1]) ** 2 + (
        (x - centre[2]) / semi[2]
    ) ** 2 < 1.0


def split_sublabels(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each tissue split into up to SUBLABELS regions by the argmax of smooth random fields (SynthMorph):
    label = tissue * SUBLABELS + part, so one tissue may carry several intensities, as real tissue does."""
    shape = (labels.shape[0], labels.shape[1], labels.shape[2])
    parts = np.stack([smooth_field(shape, int(rng.integers(5, 12)), rng) for _ in range(SUBLABELS)])
    return (labels.astype(np.int32) * SUBLABELS + np.argmax(parts, axis=0)).astype(np.int16)


def label_means(rng: np.random.Generator) -> list[tuple[float, float]]:
    """(low, high) of the mean intensity of every sub-label: a known contrast jittered, or random ones."""
    kind = rng.random()
    means: list[tuple[float, float]] = []
    for tissue in range(TISSUES):
        for _ in range(SUBLABELS):
            if tissue == BACKGROUND:
                centre = rng.uniform(0.0, 0.05)
            elif kind < 0.2:
                centre = T1_LIKE[tissue] + rng.normal(0.0, 0.06)
            elif kind < 0.4:
                centre = T2_LIKE[tissue] + rng.normal(0.0, 0.06)
            else:
                centre = rng.uniform(0.05, 1.0)
            centre = float(np.clip(centre, 0.0, 1.0))
            means.append((centre, centre))
    return means


def generate(seed: int, index: int) -> SyntheticVolume:
    """Volume `index` of the set drawn with `seed`: the same arrays on every machine and run."""
    rng = np.random.default_rng([seed, index])
    torch.manual_seed(int(rng.integers(2**31)))  # TorchIO draws its parameters from torch's generator
    tissues = head_labels(rng)
    labels = split_sublabels(tissues, rng)
    means = label_means(rng)
    # TorchIO wants consecutive labels, one mean per label: number the sub-labels present 0..K-1.
    present, consecutive = np.unique(labels, return_inverse=True)
    consecutive = consecutive.reshape(labels.shape)
    subject = tio.Subject(label=tio.LabelMap(tensor=torch.from_numpy(consecutive[None].astype(np.int64))))
    to_image = tio.RandomLabelsToImage(
        label_key="label",
        image_key="image",
        mean=[means[int(label)] for label in present],
        std=[(0.0, float(rng.uniform(0.01, 0.06)))] * len(present),
    )
    transforms: list[tio.Transform] = [
        to_image,
        tio.RandomBlur(std=(0.3, 1.2)),
        tio.RandomBiasField(coefficients=float(rng.uniform(0.1, 0.5))),
    ]
    if rng.random() < 0.25:
        transforms.append(tio.RandomAnisotropy(axes=(0, 1, 2), downsampling=(1.5, 3.0)))
    transformed = tio.Compose(transforms)(subject)
    assert isinstance(transformed, tio.Subject)  # a Subject in, a Subject out
    image = cast(tio.ScalarImage, transformed["image"]).data[0].numpy().astype(np.float32)
    # Texture inside tissues: a fine multiplicative field, so flat regions are not perfectly flat.
    texture = smooth_field(SHAPE, int(rng.integers(20, 40)), rng)  # image has SHAPE until thick slices
    image *= 1.0 + float(rng.uniform(0.0, 0.08)) * texture
    image = np.clip(image, 0.0, None)
    gamma = float(np.exp(rng.uniform(-0.3, 0.3)))
    image = (image / max(float(image.max()), 1e-6)) ** gamma
    thick_axis: int | None = None
    if rng.random() < 0.3:
        thick_axis = int(rng.integers(3))
        factor = int(rng.integers(2, 6))
        image = _thick_slices(image, thick_axis, factor)
        tissues = np.take(
            tissues,
            np.arange(factor // 2, tissues.shape[thick_axis] - factor + 1 + factor // 2, factor),
            axis=thick_axis,
        )
    return SyntheticVolume(image=image.astype(np.float32), labels=tissues, thick_axis=thick_axis)


def _thick_slices(image: np.ndarray, axis: int, factor: int) -> np.ndarray:
    """Average blocks of `factor` slices along `axis`: a stack of thick slices."""
    count = image.shape[axis] // factor
    moved = np.moveaxis(image, axis, 0)[: count * factor]
    thick = moved.reshape(count, factor, *moved.shape[1:]).mean(axis=1)
    return np.moveaxis(thick, 0, axis)
