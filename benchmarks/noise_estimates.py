"""`fetal-denoise benchmark --noise-estimates`: the noise level the project tells its models, against the truth,
where a single-volume estimate is hardest: spatially correlated noise under a zeroed (masked) background.

Data: a 96 x 112 x 96 central block of the 1 mm MNI152 template (the dev volume; nothing is trained here), and
the whole template subsampled to 2 mm. Noise: Gaussian of sigma 10, 20, 30 on the clean [0, 1] range x 255,
white or smoothed by a Gaussian of 0.5, 0.8, 1.2 voxels (in-plane only, as a 2D acquisition's k-space filter,
or in 3D) and rescaled to the same sd (the prior's own corruption, `services/n2n/prior/corruption.py`); the
background (clean below 2 % of the range) set to 0 after the noise. Each row: the true sigma, the wavelet, local
and chosen estimates (`shared.quality.noise_level.estimate_noise_level`, on the clean min-max range) and the
chosen one's relative error. The real series add the estimate beside the sigma their two volumes differ by.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.data import load_mni
from services.n2n.prior.corruption import unit_noise
from shared.intensity import IntensityMapping, Normalisation
from shared.quality.noise_level import CORRELATED_RATIO, estimate_noise_level

SIGMAS = (10.0, 20.0, 30.0)
CORRELATIONS = (0.0, 0.5, 0.8, 1.2)
MASK_LEVEL = 0.02


def central_block(data: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """The centred block of `shape` of a 3D array."""
    starts = [(n - s) // 2 for n, s in zip(data.shape, shape, strict=True)]
    return np.ascontiguousarray(data[tuple(slice(a, a + s) for a, s in zip(starts, shape, strict=True))])


def correlated_noise(shape: tuple[int, ...], correlation: float, in_plane: bool, seed: int) -> np.ndarray:
    """Unit-variance noise, white or smoothed in-plane (each slice on its own) or in 3D."""
    rng = np.random.default_rng(seed)
    if in_plane:
        return np.stack([unit_noise(shape[1:], correlation, rng) for _ in range(shape[0])])
    return unit_noise(shape, correlation, rng)


def synthetic_rows(name: str, clean: np.ndarray, sigmas: tuple[float, ...]) -> list[dict[str, Any]]:
    """One row per (sigma, correlation, in-plane or 3D) on a clean [0, 1] volume."""
    rows = []
    unit = IntensityMapping.min_max(clean)
    for sigma in sigmas:
        for correlation in CORRELATIONS:
            for in_plane in (True, False) if correlation > 0 else (True,):
                seed = int(sigma * 100 + correlation * 10 + in_plane)
                noise = correlated_noise(clean.shape, correlation, in_plane, seed)
                noisy = np.where(clean < MASK_LEVEL, 0.0, clean + sigma / 255.0 * noise).astype(np.float32)
                level = estimate_noise_level(noisy, unit)
                truth = sigma / 255.0
                row = {
                    "volume": name,
                    "sigma_255": sigma,
                    "correlation_voxels": correlation,
                    "smoothing": "none" if correlation == 0 else ("in-plane" if in_plane else "3D"),
                    "wavelet_255": _scaled(level.wavelet.sigma),
                    "local_255": _scaled(level.local.sigma),
                    "chosen_255": _scaled(level.sigma),
                    "source": level.source,
                    "relative_error": None if level.sigma is None else round(level.sigma / truth - 1.0, 4),
                }
                rows.append(row)
                print(
                    f"{name} sigma {sigma:g} {row['smoothing']} {correlation:g}: chosen {row['chosen_255']} "
                    f"({level.source}, {row['relative_error']:+.1%}), wavelet {row['wavelet_255']}, "
                    f"local {row['local_255']}",
                    flush=True,
                )
    return rows


def _scaled(sigma: float | None) -> float | None:
    return None if sigma is None else round(sigma * 255.0, 3)


def real_rows() -> list[dict[str, Any]]:
    """The real repeated series: the single-volume estimate beside the sigma the two volumes differ by."""
    from benchmarks.real_pair import LOADERS, SERIES
    from shared.quality.pair import pair_noise_sigma
    from shared.slices import acquisition_axis

    rows = []
    for name, load in LOADERS.items():
        first, second = load()
        mapping = Normalisation().fit(first.data, name)
        level = estimate_noise_level(first.data, mapping, slice_axis=acquisition_axis(first))
        pair = pair_noise_sigma(first.data, second.data)
        scale = 255.0 / mapping.scale
        row = {
            "series": name,
            "source_data": SERIES[name],
            "pair_255": None if pair is None else round(pair * scale, 3),
            "chosen_255": None if level.sigma is None else round(level.sigma * scale, 3),
            "source": level.source,
            "wavelet_255": None if level.wavelet.sigma is None else round(level.wavelet.sigma * scale, 3),
            "local_255": None if level.local.sigma is None else round(level.local.sigma * scale, 3),
            "background_reason": level.background.reason,
        }
        rows.append(row)
        print(f"{name}: chosen {row['chosen_255']} ({level.source}), pair {row['pair_255']}", flush=True)
    return rows


def main(argv: list[str] | None = None, prog: str = "fetal-denoise benchmark --noise-estimates") -> int:
    """Write benchmarks/results/noise-estimates.json."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--no-real", action="store_true", help="leave out the real series")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    full = load_mni().data
    block = central_block((full - full.min()) / (full.max() - full.min()), (96, 112, 96))
    two_mm = load_mni(downsample=2).data
    two_mm = (two_mm - two_mm.min()) / (two_mm.max() - two_mm.min())
    rows = synthetic_rows("MNI152 1 mm, central 96x112x96 block", block, SIGMAS)
    rows += synthetic_rows("MNI152 subsampled to 2 mm", two_mm, (5.0, 20.0))
    document = {
        "name": "noise-estimates",
        "command": shlex.join(["fetal-denoise", "benchmark", "--noise-estimates", *(argv or [])]),
        "protocol": __doc__,
        "correlated_ratio": CORRELATED_RATIO,
        "rows": rows,
        "real_series": [] if args.no_real else real_rows(),
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / "noise-estimates.json"
    out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
