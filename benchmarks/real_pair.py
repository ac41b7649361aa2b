"""Real data: every method on a real repeated acquisition, scored without a clean reference by the pair estimate.

The data is heudiconv's test series `b0dwiForFmap` (Apache-2.0, installed with the `dev` extra): a Siemens
mosaic DWI series of 81 axial slices of 152x150 at 1.5 mm whose first two volumes are the same b~5
acquisition 4 s apart. With y1 and y2 the two copies and f(y1) a result made from y1 alone, the pair
estimate (shared.quality.pair) mean((f(y1) - y2)^2) - mean((y1 - y2)^2) / 2 estimates its mean squared
error against the unknown noise-free image; the noisy input's own estimate is the noise variance. Every
row denoises y1 and is scored over the anatomy that `foreground_mask` finds in y1 (the dark air holds no
signal to get wrong), on the 0.5-99.9 percentile range of y1 (the PSNR's MAX, as the methods normalise).

A row that trained on y2 (N2N on the pair) has seen the second copy's noise as targets, so over its
training slices the pair estimate flatters it: every row is also scored over the slices that the pair
fit held out of its training and validation (its split's test block, the middle of the volume), and
only that figure compares it with the rest. The user's output of a pair fit, the mean of the
predictions on both copies (the paper's Eq. 3), is not independent of y2 and cannot be scored this way.

Rows: the noisy input; BM3D per slice, BM4D on the volume and DIPY's non-local means, each with the
noise sigma estimated from y1 by the project's estimator (what a user with one scan has); BM4D with the
sigma the pair gives (what a user with two scans has); and the service's own fits (what
`fetal-denoise denoise --fit` does): N2N on y1 alone (recorrupted pairs), N2V on y1, and N2N trained on
the pair, with the fit defaults unless `--set n2n_fit_params=...` says otherwise. Learned rows also carry
the project's no-reference estimate (SURE over the same anatomy) next to the pair estimate.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from benchmarks.block_matching import block_matching
from benchmarks.budget import Budget
from benchmarks.environment import machine, versions
from shared.atomic import atomic_write_text
from shared.errors import FetalDenoiseError
from shared.intensity import Normalisation
from shared.io import read_volume
from shared.methods import MethodName, fit_config
from shared.methods.workflow import as_magnitude_of, load_workflow
from shared.metrics import psnr_from_mse
from shared.progress import ignore_progress
from shared.quality.background import foreground_mask
from shared.quality.noise_level import estimate_noise_level
from shared.quality.pair import pair_estimate
from shared.slices import acquisition_axis, slice_along
from shared.volume import Volume

RealKey = Literal[
    "noisy",
    "bm3d_est",
    "bm4d_est",
    "bm4d_pair",
    "nlmeans",
    "n2n_fit",
    "n2v_fit",
    "n2n_pair_fit",
    "prior",
    "prior_fit",
]
REAL_KEYS: tuple[RealKey, ...] = get_args(RealKey)
LABELS: dict[RealKey, str] = {
    "noisy": "Noisy input (y1)",
    "bm3d_est": "BM3D per slice, estimated sigma",
    "bm4d_est": "BM4D, estimated sigma",
    "bm4d_pair": "BM4D, sigma from the pair",
    "nlmeans": "DIPY nlmeans (blockwise), DIPY's sigma",
    "n2n_fit": "N2N fit on y1 alone (recorrupted pairs)",
    "n2v_fit": "N2V fit on y1",
    "n2n_pair_fit": "N2N fit on the pair, f(y1) alone",
    "prior": "Prior, the default (denoise y1: told y1's estimated sigma)",
    "prior_fit": "Prior fine-tuned on y1 (denoise --fit, 200 steps)",
}
SERIES: dict[str, str] = {
    "heudiconv-dwi": "heudiconv tests/data/b0dwiForFmap (Apache-2.0): Siemens mosaic DWI, volumes 1 and 2 = the "
    "same b~5 acquisition 4 s apart",
    "nibabel-epi": "nibabel tests/data/example4d.nii.gz (MIT): a real 2 x 2 x 2.2 mm EPI time series of 2 volumes "
    "with a masked (zero) background, volumes 0 and 1",
}
"""The real repeated acquisitions that install with the project's test dependencies."""
SOURCE = SERIES["heudiconv-dwi"]
PAIR_TARGET_DB = 3.0
"""The issue's target: N2N's default training on the pair, within 10 minutes, at least 3 dB over its input."""
PAIR_TARGET_SECONDS = 600.0


class RealRow(BaseModel):
    """One method on y1: its pair-estimated quality, over all the anatomy and over the held-out slices."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    method: RealKey
    label: str
    status: Literal["ok", "not installed", "not run", "failed"] = "ok"
    error: str = ""
    seconds: float | None = Field(default=None, description="Wall-clock seconds: training and denoising.")
    train_seconds: float | None = None
    sigma_given: float | None = Field(default=None, description="The sigma the method was told, y1's units.")
    psnr_pair: float | None = Field(default=None, description="Pair-estimated PSNR over the anatomy, dB.")
    gain_db: float | None = Field(default=None, description="psnr_pair minus the noisy input's.")
    psnr_pair_held_out: float | None = Field(
        default=None, description="The same over the pair fit's held-out slices only, dB."
    )
    gain_held_out_db: float | None = None
    psnr_sure: float | None = Field(
        default=None, description="Learned rows: the no-reference SURE estimate from y1 alone, dB."
    )
    settings: dict[str, str | int | float | bool] = Field(default_factory=dict)


class RealPairResult(BaseModel):
    """`fetal-denoise benchmark --real-pair`: what it ran on, every row, and whether the target is met."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    name: str
    created: datetime
    command: str
    source: str
    shape_zyx: list[int]
    spacing_mm_zyx: list[float]
    slice_axis: int
    data_range: float = Field(description="PSNR's MAX: y1's 0.5-99.9 percentile range, y1's units.")
    anatomy_voxels: int
    held_out_slices: list[int] = Field(description="Slices the pair fit neither trained nor validated on.")
    noise_sigma_pair: float = Field(description="sqrt(mean((y1 - y2)^2) / 2) over the anatomy, y1's units.")
    noise_sigma_estimated: float | None = Field(description="The project's estimate from y1 alone.")
    noise_estimator: str | None
    pair_ceiling_gain_db: float | None = Field(
        default=None,
        description="What a perfect denoiser of y1 (its output the noise-free y1) would gain by the pair "
        "estimate if y1's noise sigma is the estimated one: 10 log10(s_pair^2 / (s_pair^2 - s_est^2)). What "
        "the pair's difference holds beyond the noise (motion, flow, ghosts that change between the "
        "acquisitions) counts as error for every method, a perfect one included; a method that smooths "
        "that change away, or learned it from y2, can score above this.",
    )
    budget: Budget
    rows: list[RealRow]
    target: dict[str, Any]
    versions: dict[str, str]
    machine: dict[str, Any]
    total_seconds: float


def heudiconv_pair() -> tuple[Volume, Volume]:
    """The two b~5 volumes of heudiconv's `b0dwiForFmap` series (y1, y2)."""
    spec = importlib.util.find_spec("heudiconv")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    folder = Path(folders[0]) / "tests" / "data" / "b0dwiForFmap" if folders else None
    if folder is None or not folder.is_dir():
        raise FetalDenoiseError(
            "the real-pair benchmark reads heudiconv's test DICOMs, which are not installed: "
            "pip install -e '.[dev]' installs heudiconv"
        )
    first, second, *_ = read_volume(folder).frames()
    return first, second


def nibabel_epi_pair() -> tuple[Volume, Volume]:
    """The two volumes of nibabel's real EPI example (y1, y2): masked background, spatially smooth noise."""
    from nibabel.testing import data_path

    first, second, *_ = read_volume(Path(str(data_path)) / "example4d.nii.gz").frames()
    return first, second


LOADERS = {"heudiconv-dwi": heudiconv_pair, "nibabel-epi": nibabel_epi_pair}


Outcome = tuple[np.ndarray, dict[str, Any]]
"""A row's result on y1 and what it cost (seconds, train_seconds, sigma_given, psnr_sure, settings)."""


class RealPair:
    """The pair, the region everything is scored over, and the rows' runners."""

    def __init__(self, first: Volume, second: Volume, budget: Budget, work: Path) -> None:
        self.first, self.second, self.budget, self.work = first, second, budget, work
        self.axis = acquisition_axis(first)
        self.anatomy = foreground_mask(first.data, slice_axis=self.axis)
        self.data_range = Normalisation().fit(first.data).scale
        self.level = estimate_noise_level(first.data, Normalisation().fit(first.data), slice_axis=self.axis)
        self.held_out: list[int] = []

    def held_out_region(self) -> np.ndarray | None:
        """The anatomy within the held-out slices, or None before the pair fit named them."""
        if not self.held_out:
            return None
        chosen = np.zeros(self.first.shape[self.axis], dtype=bool)
        chosen[self.held_out] = True
        shape = [1, 1, 1]
        shape[self.axis] = -1
        return self.anatomy & chosen.reshape(shape)

    # The rows.

    def noisy(self) -> Outcome:
        return self.first.data, {}

    def _estimated_sigma(self) -> float:
        if self.level.sigma is None:
            raise FetalDenoiseError("no noise level could be estimated from y1")
        return float(self.level.sigma)

    def bm3d_est(self) -> Outcome:
        bm3d = block_matching("bm3d")

        start = time.perf_counter()
        sigma = self._estimated_sigma()
        slices = [
            bm3d.bm3d(s.astype(np.float64), sigma_psd=sigma) for s in slice_along(self.first.data, self.axis)
        ]
        out = np.stack(slices, axis=self.axis).astype(np.float32)
        return out, {
            "seconds": time.perf_counter() - start,
            "sigma_given": sigma,
            "settings": {"profile": "np"},
        }

    def _bm4d(self, sigma: float) -> Outcome:
        bm4d = block_matching("bm4d")

        start = time.perf_counter()
        out = bm4d.bm4d(self.first.data.astype(np.float64), sigma_psd=sigma)
        seconds = time.perf_counter() - start
        return np.asarray(out, dtype=np.float32), {
            "seconds": seconds,
            "sigma_given": sigma,
            "settings": {"profile": "np"},
        }

    def bm4d_est(self) -> Outcome:
        return self._bm4d(self._estimated_sigma())

    def bm4d_pair(self) -> Outcome:
        return self._bm4d(
            pair_estimate(
                self.first.data, self.first.data, self.second.data, mask=self.anatomy
            ).pair_noise_sigma
        )

    def nlmeans(self) -> Outcome:
        from dipy.denoise.nlmeans import nlmeans
        from dipy.denoise.noise_estimate import estimate_sigma

        from benchmarks.dipy_nlmeans import NLMEANS_SETTINGS

        start = time.perf_counter()
        volume = self.first.data.astype(np.float64)
        sigma = float(estimate_sigma(volume, N=0)[0])
        out = nlmeans(volume, sigma=sigma, **NLMEANS_SETTINGS["blockwise"])
        return np.asarray(out, dtype=np.float32), {
            "seconds": time.perf_counter() - start,
            "sigma_given": sigma,
            "settings": dict(NLMEANS_SETTINGS["blockwise"]),
        }

    def _fit(self, method: MethodName, params: dict[str, Any], *, pair: bool) -> Outcome:
        """A fit through the service's workflow on y1 (and y2), then the prediction from y1 alone."""
        workflow = load_workflow(method)
        model_dir = self.work / f"{method}{'-pair' if pair else ''}"
        config = fit_config(method, {**params, "seed": 0}, scratch=True)
        start = time.perf_counter()
        workflow.train_model(
            config,
            [self.first],
            model_dir,
            second_acquisitions=[self.second] if pair else None,
            progress=ignore_progress,
        )
        (out,) = workflow.predict([self.first], model_dir, second_acquisitions=None, progress=ignore_progress)
        seconds = time.perf_counter() - start
        manifest = json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
        if pair:
            self.held_out = sorted(s for _, s in manifest["data"]["split"]["test"])
        result = self.first.with_data(as_magnitude_of(self.first, out))  # what denoise_volume returns
        report = workflow.assess(self.first, result, model_dir)
        settings = {
            k: v for k, v in config.model_dump(mode="json").items() if isinstance(v, str | int | float | bool)
        }
        return result.data, {
            "seconds": seconds,
            "train_seconds": float(manifest["validation"]["seconds"]),
            "psnr_sure": report.psnr_estimate,
            "sigma_given": report.noise_sigma if not pair else None,
            "settings": settings,
        }

    def n2n_fit(self) -> Outcome:
        return self._fit("n2n", self.budget.n2n_fit_params, pair=False)

    def prior(self) -> Outcome:
        """The default of `denoise`: the shipped prior told y1's estimated sigma, no training."""
        from shared.models.builtin import PRIOR_DIR

        workflow = load_workflow("n2n")
        start = time.perf_counter()
        (out,) = workflow.predict([self.first], PRIOR_DIR, second_acquisitions=None, progress=ignore_progress)
        seconds = time.perf_counter() - start
        result = self.first.with_data(as_magnitude_of(self.first, out))
        report = workflow.assess(self.first, result, PRIOR_DIR)
        told = report.model.noise_told if report.model is not None else None
        return result.data, {
            "seconds": seconds,
            "psnr_sure": report.psnr_estimate,
            "sigma_given": told.sigma if told is not None else None,
            "settings": {"warnings": len(report.warnings)},
        }

    def prior_fit(self) -> Outcome:
        """`denoise --fit`: the prior fine-tuned on y1 alone by recorruption (the default budget)."""
        workflow = load_workflow("n2n")
        model_dir = self.work / "prior-fit"
        config = fit_config("n2n", {"seed": 0})
        start = time.perf_counter()
        workflow.train_model(config, [self.first], model_dir, progress=ignore_progress)
        (out,) = workflow.predict([self.first], model_dir, second_acquisitions=None, progress=ignore_progress)
        seconds = time.perf_counter() - start
        manifest = json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
        result = self.first.with_data(as_magnitude_of(self.first, out))
        report = workflow.assess(self.first, result, model_dir)
        return result.data, {
            "seconds": seconds,
            "train_seconds": float(manifest["validation"]["seconds"]),
            "psnr_sure": report.psnr_estimate,
            "sigma_given": report.noise_sigma,
            "settings": {
                "steps": config.epochs * (config.steps_per_epoch or 0),
                "warnings": len(report.warnings),
            },
        }

    def n2v_fit(self) -> Outcome:
        return self._fit("n2v", self.budget.n2v_fit_params, pair=False)

    def n2n_pair_fit(self) -> Outcome:
        return self._fit("n2n", self.budget.n2n_fit_params, pair=True)

    def psnr(self, result: np.ndarray, region: np.ndarray | None) -> float | None:
        if region is None:
            return None
        estimate = pair_estimate(
            result, self.first.data, self.second.data, mask=region, data_range=self.data_range
        )
        return round(estimate.psnr, 3)


def run_real_pair(
    budget: Budget,
    name: str,
    out_dir: Path = Path("benchmarks/results"),
    *,
    methods: Collection[RealKey] = REAL_KEYS,
    command: str,
    progress: Callable[[str], None] = print,
    series: str = "heudiconv-dwi",
) -> Path:
    """Run the chosen rows on a real pair (`series`, one of SERIES); write <name>.json and <name>.md; return
    the JSON path."""
    begun = time.perf_counter()
    first, second = LOADERS[series]()
    # The pair fit runs first: its held-out slices are where every row is compared with it.
    order: Sequence[RealKey] = ["n2n_pair_fit", *[k for k in REAL_KEYS if k != "n2n_pair_fit"]]
    outcomes: dict[RealKey, Outcome | str] = {}
    with tempfile.TemporaryDirectory(prefix="fetal-denoise-real-pair-") as tmp:
        pair = RealPair(first, second, budget, Path(tmp))
        progress(f"data: {SERIES[series]}; shape {first.shape}, slice axis {pair.axis}")
        for key in order:
            if key not in methods:
                outcomes[key] = "not run"
                continue
            progress(f"real pair: {key}")
            try:
                outcomes[key] = getattr(pair, key)()
            except ImportError as exc:  # bm3d/bm4d are an opt-in: the row says what installs them
                progress(f"real pair: {key} not installed: {exc}")
                outcomes[key] = f"not installed: {exc}"
            except Exception as exc:  # a failed row says so; the others still run
                progress(f"real pair: {key} failed: {exc!r}")
                outcomes[key] = f"failed: {type(exc).__name__}: {exc}"
        rows = _rows(pair, outcomes)
    noise_sigma_pair = pair_estimate(first.data, first.data, second.data, mask=pair.anatomy).pair_noise_sigma
    result = RealPairResult(
        name=name,
        created=datetime.now(UTC),
        command=command,
        source=SERIES[series],
        shape_zyx=list(first.shape),
        spacing_mm_zyx=[round(s, 4) for s in first.spacing],
        slice_axis=pair.axis,
        data_range=pair.data_range,
        anatomy_voxels=int(pair.anatomy.sum()),
        held_out_slices=pair.held_out,
        noise_sigma_pair=noise_sigma_pair,
        noise_sigma_estimated=pair.level.sigma,
        noise_estimator=pair.level.source,
        pair_ceiling_gain_db=_ceiling(noise_sigma_pair, pair.level.sigma),
        budget=budget,
        rows=rows,
        target=_target(rows),
        versions=versions(),
        machine=machine(),
        total_seconds=round(time.perf_counter() - begun, 1),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    atomic_write_text(json_path, result.model_dump_json(indent=1))
    atomic_write_text(out_dir / f"{name}.md", to_markdown(result))
    progress(f"wrote {json_path} and {name}.md in {result.total_seconds / 60:.1f} min")
    return json_path


def _rows(pair: RealPair, outcomes: dict[RealKey, Outcome | str]) -> list[RealRow]:
    held_out = pair.held_out_region()
    base = pair.psnr(pair.first.data, pair.anatomy)
    base_held_out = pair.psnr(pair.first.data, held_out)
    rows: list[RealRow] = []
    for key in REAL_KEYS:
        outcome = outcomes.get(key, "not run")
        if isinstance(outcome, str):
            status = "failed" if outcome.startswith("failed") else outcome.split(":")[0]
            rows.append(RealRow(method=key, label=LABELS[key], status=status, error=outcome))
            continue
        result, info = outcome
        whole = None if key == "n2n_pair_fit" else pair.psnr(result, pair.anatomy)
        inside = pair.psnr(result, held_out)
        rows.append(
            RealRow(
                method=key,
                label=LABELS[key],
                seconds=_rounded(info.get("seconds")),
                train_seconds=_rounded(info.get("train_seconds")),
                sigma_given=_rounded(info.get("sigma_given"), 4),
                psnr_pair=whole,
                gain_db=_difference(whole, base),
                psnr_pair_held_out=inside,
                gain_held_out_db=_difference(inside, base_held_out),
                psnr_sure=_rounded(info.get("psnr_sure"), 3),
                settings=info.get("settings", {}),
            )
        )
    return rows


def _ceiling(pair_sigma: float, noise_sigma: float | None) -> float | None:
    """The pair-estimated gain of a perfect denoiser: its estimated MSE is half the change between the copies,
    mean((x1 - x2)^2) / 2 = s_pair^2 - sigma^2, against the input's s_pair^2 (the difference of the two PSNRs,
    which does not depend on the data range)."""
    if noise_sigma is None or pair_sigma <= noise_sigma:
        return None
    perfect, noisy = psnr_from_mse(pair_sigma**2 - noise_sigma**2), psnr_from_mse(pair_sigma**2)
    return round(perfect - noisy, 3)


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _difference(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None else round(value - base, 3)


def _target(rows: list[RealRow]) -> dict[str, Any]:
    """The issue's real-data target for N2N on the pair: +3 dB over the input within 10 minutes."""
    row = next(r for r in rows if r.method == "n2n_pair_fit")
    met = (
        row.gain_held_out_db is not None
        and row.seconds is not None
        and row.gain_held_out_db >= PAIR_TARGET_DB
        and row.seconds <= PAIR_TARGET_SECONDS
    )
    return {
        "goal": f"N2N's fit on the pair >= {PAIR_TARGET_DB:g} dB over its input (held-out slices) "
        f"within {PAIR_TARGET_SECONDS / 60:g} minutes",
        "gain_db": row.gain_held_out_db,
        "seconds": row.seconds,
        "met": met,
    }


def to_markdown(result: RealPairResult) -> str:
    """The rows as a Markdown table, with what was measured and how."""
    lines = [
        f"# {result.name}: the real b~5 pair",
        "",
        f"{result.source}; shape {'x'.join(map(str, result.shape_zyx))}, slice axis {result.slice_axis}; "
        f"scored over {result.anatomy_voxels} anatomy voxels of y1, PSNR's MAX {result.data_range:.4g} "
        f"(y1's 0.5-99.9 percentile range). Noise sigma: {result.noise_sigma_pair:.4g} from the pair, "
        f"{_text(result.noise_sigma_estimated, '.4g')} estimated from y1 ({result.noise_estimator}). "
        f"Held-out slices (the pair fit's test block): {_span(result.held_out_slices)}. A perfect denoiser "
        f"of y1 (its output the noise-free y1) would gain {_text(result.pair_ceiling_gain_db, '+.2f')} dB by the pair estimate if the "
        "estimated sigma is y1's noise: the rest of the pair's difference changed between the acquisitions.",
        "",
        "| Method | pair PSNR, anatomy (dB) | gain (dB) | pair PSNR, held-out (dB) | gain (dB) "
        "| SURE from y1 (dB) | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result.rows:
        if row.status != "ok":
            lines.append(f"| {row.label} | {row.status} | | | | | |")
            continue
        cells = [
            _text(row.psnr_pair, ".2f"),
            _text(row.gain_db, "+.2f"),
            _text(row.psnr_pair_held_out, ".2f"),
            _text(row.gain_held_out_db, "+.2f"),
            _text(row.psnr_sure, ".2f"),
            _text(row.seconds, ".0f"),
        ]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    target = result.target
    lines += [
        "",
        f"Target: {target['goal']}: {'met' if target['met'] else 'missed'} "
        f"({_text(target['gain_db'], '+.2f')} dB in {_text(target['seconds'], '.0f')} s).",
        "",
        "The pair fit's row is scored on the held-out slices only: over its training slices it has seen y2. "
        f"Command: `{result.command}`; {result.total_seconds / 60:.1f} min in all.",
        "",
    ]
    return "\n".join(lines)


def _text(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _span(slices: list[int]) -> str:
    return "none" if not slices else f"{slices[0]}-{slices[-1]} ({len(slices)} slices)"
