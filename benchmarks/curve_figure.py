"""The time-to-quality figure: test PSNR against seconds, a line per fit along its training, and the
classical rows as points at their run time; one panel per sigma."""

from __future__ import annotations

from pathlib import Path

from benchmarks.results import BenchmarkResult, Row
from shared.atomic import atomic_path

CLASSICAL = ("bm3d", "bm3d_est", "bm4d", "bm4d_est", "nlmeans", "nlmeans_classic")


def save_curve_figure(result: BenchmarkResult, path: Path) -> Path | None:
    """Draw the curves of `result` (None when no row recorded one)."""
    sigmas = [s for s in result.sigmas if s.curves]
    if not sigmas:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sigmas), figsize=(6.5 * len(sigmas), 4.6), squeeze=False)
    for ax, sigma in zip(axes[0], sigmas, strict=True):
        rows: dict[str, Row] = {row.method: row for row in sigma.rows}
        for key, points in sigma.curves.items():
            ax.plot(
                [p["seconds"] / 60 for p in points],
                [p["psnr"] for p in points],
                marker=".",
                label=rows[key].label,
            )
        for key in CLASSICAL:
            row = rows.get(key)
            if (
                row is not None
                and row.status == "ok"
                and row.psnr is not None
                and row.infer_seconds is not None
            ):
                ax.scatter([row.infer_seconds / 60], [row.psnr], marker="s", label=f"{row.label} (run time)")
        noisy = rows.get("noisy")
        if noisy is not None and noisy.psnr is not None:
            ax.axhline(noisy.psnr, color="grey", linestyle=":", label="noisy input")
        ax.set_title(f"sigma = {sigma.sigma:g}")
        ax.set_xlabel("training (fits) or run (classical) minutes, this CPU")
        ax.set_ylabel("test PSNR (dB), mean of slices")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
