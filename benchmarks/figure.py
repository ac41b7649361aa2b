"""The paper-style figure (its Figs. 2-4): clean, noisy, N2V, N2N, N2C and the classical rows, with a crop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.atomic import atomic_path

FIGURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("clean", "Clean"),
    ("noisy", "Noisy"),
    ("n2v", "N2V"),
    ("n2n", "N2N"),
    ("n2c", "N2C"),
    ("bm3d", "BM3D"),
    ("bm3d_est", "BM3D est. sigma"),
    ("bm4d", "BM4D"),
    ("bm4d_est", "BM4D est. sigma"),
    ("nlmeans", "NL-means blockwise"),
    ("nlmeans_classic", "NL-means classic"),
    ("n2v_fit", "N2V fit"),
    ("n2n_fit", "N2N fit (R2R)"),
    ("n2n_pair_fit", "N2N pair fit"),
)


@dataclass(frozen=True)
class Panel:
    """One image of the figure and the PSNR to print under it (None for the clean reference)."""

    image: np.ndarray | None
    psnr: float | None = None
    missing: str = "not run"
    """What to print instead of an image (e.g. 'not installed', 'failed')."""


def detail_box(shape: tuple[int, ...], fraction: float = 0.3) -> tuple[slice, slice]:
    """A square crop a `fraction` of the slice's short side wide, a little above its centre (the cortex)."""
    height, width = shape[:2]
    side = max(8, int(min(height, width) * fraction))
    top = max(0, min(height - side, int(height * 0.6) - side // 2))
    left = max(0, min(width - side, width // 2 - side // 2))
    return slice(top, top + side), slice(left, left + side)


def save_figure(rows: dict[float, dict[str, Panel]], path: Path) -> Path:
    """Draw, per sigma, a row of whole slices and a row of enlarged crops; write a PNG atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n_cols = len(FIGURE_COLUMNS)
    fig, axes = plt.subplots(2 * len(rows), n_cols, figsize=(2.2 * n_cols, 4.6 * len(rows)), squeeze=False)
    for r, (sigma, panels) in enumerate(rows.items()):
        shape = panels["clean"].image.shape  # type: ignore[union-attr]
        rows_box, cols_box = detail_box(shape)
        for c, (key, label) in enumerate(FIGURE_COLUMNS):
            full, crop = axes[2 * r, c], axes[2 * r + 1, c]
            panel = panels.get(key, Panel(None))
            for ax in (full, crop):
                ax.set_xticks([])
                ax.set_yticks([])
            if panel.image is None:
                full.text(0.5, 0.5, panel.missing, ha="center", va="center", transform=full.transAxes)
                crop.set_axis_off()
            else:
                # The sagittal slice's first array axis is inferior-superior: flip so the head is up.
                image = np.flipud(np.clip(panel.image, 0.0, 1.0))
                box = image.shape[0] - rows_box.stop, cols_box.start
                full.imshow(image, cmap="gray", vmin=0.0, vmax=1.0)
                full.add_patch(
                    Rectangle(
                        (box[1], box[0]),
                        cols_box.stop - cols_box.start,
                        rows_box.stop - rows_box.start,
                        fill=False,
                        edgecolor="yellow",
                        linewidth=0.8,
                    )
                )
                detail = np.flipud(np.clip(panel.image[rows_box, cols_box], 0.0, 1.0))
                crop.imshow(detail, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            title = label if panel.psnr is None else f"{label}\n{panel.psnr:.2f} dB"
            full.set_title(title, fontsize=9)
        axes[2 * r, 0].set_ylabel(f"sigma = {sigma:g}", fontsize=10)
        axes[2 * r + 1, 0].set_ylabel("detail", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
