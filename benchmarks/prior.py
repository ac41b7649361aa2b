"""`fetal-denoise benchmark --prior`: the shipped prior on the dev volume it never saw, with its ablations.

The benchmark's protocol (benchmarks/data.py): the MNI152 T1 template normalised min-max, two seeded noisy
copies per sigma, the sagittal test slices scored (mean per-slice PSNR on [0, 1], as every other results
file). The prior denoises the whole noisy volume as `fetal-denoise denoise` does; each row times the whole
call (inference plus any fine-tuning) on this machine. Rows:

- the default (`denoise IN OUT`: the prior told the estimated sigma, one plane), and its ablations: three
  planes averaged, test-time flips averaged, 2.5D context off (the slice repeated as its own neighbours),
  the sigma told: the true one, half and twice the estimate;
- `--fit` fine-tuning the prior on the noisy volume by recorruption: 200 steps (the default) and 1,000;
- a thick-slice stack made from the dev volume (1 x 1 x 4 mm: four slices averaged, noise after), scored
  against its own clean stack on every slice.

The classical rows (BM3D, BM4D with an estimated sigma) are read from the time-to-quality curve's results
file of the same sigma and protocol (benchmarks/results/curve-sigma<s>.json), not rerun (BM4D takes nine
minutes here); the results file names where each comes from.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.data import BenchmarkData, draw_noisy_copies, load_mni, prepare
from shared.metrics import compare
from shared.models.builtin import PRIOR_DIR
from shared.volume import Volume

DATA_RANGE = 1.0
CLASSICAL_LABELS = ("BM3D per slice, estimated sigma", "BM4D on the volume, estimated sigma")


def mean_psnr(clean: np.ndarray, result: np.ndarray) -> float:
    """Mean per-slice PSNR (dB) of (N, H, W) slices on [0, 1], the benchmark's figure."""
    return float(np.mean([compare(c, r, DATA_RANGE).psnr for c, r in zip(clean, result, strict=True)]))


def timed(run: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    """The result of `run` and its wall seconds."""
    started = time.perf_counter()
    out = run()
    return out, time.perf_counter() - started


def prior_rows(
    data: BenchmarkData,
    sigma: float,
    *,
    fit_steps: list[int],
    ablations: bool,
    model_dir: Path = PRIOR_DIR,
    told_only: bool = False,
) -> list[dict[str, Any]]:
    """The rows of one sigma on the dev volume; `told_only` keeps the default and the told-sigma rows (a
    candidate prior's robustness to a wrong estimate, in a quarter of the time)."""
    from services.n2n.predict import denoise, load_model, told_noise
    from shared.methods import fit_config
    from shared.methods.inference import InferenceOptions
    from shared.methods.workflow import load_workflow

    noisy = draw_noisy_copies(data, sigma)
    volume = data.volume.with_data(noisy.volumes[0])
    clean = data.test_slices_of(data.volume.data)
    model = load_model(model_dir)
    estimated = told_noise(volume, model)
    rows: list[dict[str, Any]] = []

    def row(label: str, result: np.ndarray, seconds: float, **extra: Any) -> None:
        psnr = mean_psnr(clean, data.test_slices_of(result))
        rows.append({"label": label, "psnr": round(psnr, 3), "seconds": round(seconds, 1), **extra})
        print(f"sigma {sigma:g}: {label}: {psnr:.2f} dB in {seconds:.0f} s", flush=True)

    rows.append(
        {"label": "Noisy input", "psnr": round(mean_psnr(clean, noisy.test_slices[0]), 3), "seconds": 0.0}
    )

    def with_prior(options: InferenceOptions, target: Volume = volume) -> Callable[[], np.ndarray]:
        return lambda: denoise(target, model, options=options).data

    result, seconds = timed(with_prior(InferenceOptions()))
    row(
        "Prior, default (denoise IN OUT: estimated sigma, one plane)",
        result,
        seconds,
        sigma_told_255=round(estimated.sigma_255, 3),
        sigma_source=estimated.source,
    )
    if ablations and not told_only:
        result, seconds = timed(with_prior(InferenceOptions(planes="three")))
        row("Prior, three planes averaged (--planes three)", result, seconds)
        result, seconds = timed(lambda: flips_averaged(volume, lambda v: denoise(v, model).data))
        row("Prior, 4 in-plane flips averaged (test-time augmentation)", result, seconds)
        result, seconds = timed(lambda: context_off(volume, model))
        row("Prior, 2.5D context off (the slice as its own neighbours)", result, seconds)
    if ablations:
        true_255 = sigma * volume_scale_ratio(volume, model)
        for label, told in (
            ("Prior told the true sigma", true_255),
            ("Prior told half the estimated sigma", estimated.sigma_255 / 2),
            ("Prior told twice the estimated sigma", estimated.sigma_255 * 2),
        ):
            result, seconds = timed(with_prior(InferenceOptions(noise_sigma=min(told, 255.0))))
            row(label, result, seconds, sigma_told_255=round(told, 3))
    workflow = load_workflow("n2n")
    for steps in fit_steps:
        config = fit_config("n2n", {"epochs": max(1, steps // 50), "steps_per_epoch": 50, "seed": 0})
        with tempfile.TemporaryDirectory() as work:

            def fit_and_denoise(config: Any = config, work: str = work) -> np.ndarray:
                return workflow.denoise_volume(volume, config=config, work_dir=Path(work) / "model").data

            result, seconds = timed(fit_and_denoise)
        default = " (denoise --fit, the default budget)" if steps == 200 else ""
        row(f"Prior fine-tuned on the noisy volume, {steps} steps{default}", result, seconds, fit_steps=steps)
    return rows


def volume_scale_ratio(volume: Volume, model: Any) -> float:
    """sigma on the benchmark's scale (min-max of the clean volume, [0, 1]) -> on the prior's 0-255 scale of
    the noisy input's percentile normalisation: the factor between the two ranges."""
    from shared.intensity import Normalisation

    mapping = Normalisation.of_model(model.manifest.data).fit(volume.data, "input")
    return 1.0 / mapping.scale


def flips_averaged(volume: Volume, run: Callable[[Volume], np.ndarray]) -> np.ndarray:
    """The mean of the results on the volume flipped along none, either and both in-plane axes, unflipped."""
    from shared.slices import acquisition_axis

    axis = acquisition_axis(volume)
    in_plane = [a for a in range(3) if a != axis]
    total = np.zeros(volume.shape, dtype=np.float64)
    flips = [(), (in_plane[0],), (in_plane[1],), tuple(in_plane)]
    for flip in flips:
        flipped = np.flip(volume.data, axis=flip) if flip else volume.data
        out = run(volume.with_data(np.ascontiguousarray(flipped)))
        total += np.flip(out, axis=flip) if flip else out
    return (total / len(flips)).astype(np.float32)


def context_off(volume: Volume, model: Any) -> np.ndarray:
    """The prior with its neighbouring-slice channels replaced by the slice itself: what 2.5D context adds."""
    from services.n2n.inference import predict_slices
    from services.n2n.predict import told_noise
    from shared.intensity import Normalisation
    from shared.slices import acquisition_axis, slice_along, stack_slices

    mapping = Normalisation.of_model(model.manifest.data).fit(volume.data, "input")
    level = told_noise(volume, model).sigma / mapping.scale
    axis = acquisition_axis(volume)
    slices = slice_along(mapping.normalise(volume.data), axis)
    channels = 2 * model.config.context + 1
    stacks = np.repeat(slices[:, None], channels, axis=1)
    out = predict_slices(
        model.network, stacks, batch_size=8, tile=model.config.tile, overlap=model.config.tile_overlap,
        amp=False, levels=level,
    )  # fmt: skip
    return mapping.denormalise(stack_slices(out, axis))


def thick_slice_row(sigma: float, model_dir: Path = PRIOR_DIR) -> dict[str, Any]:
    """The default on a 1 x 1 x 4 mm stack made from the dev volume: 4 axial slices averaged, noise after;
    scored on every slice against the clean stack, beside its noisy input."""
    from services.n2n.predict import denoise, load_model
    from shared.intensity import IntensityMapping

    mni = load_mni()
    clean = IntensityMapping.min_max(mni.data, "MNI152").normalise(mni.data)
    axis = 0  # load_mni's array is (Z, Y, X): thick axial slices, as a fetal stack's
    count = clean.shape[axis] // 4
    moved = np.moveaxis(clean, axis, 0)[: count * 4]
    thick = np.moveaxis(moved.reshape(count, 4, *moved.shape[1:]).mean(axis=1), 0, axis)
    affine = np.array(mni.affine, dtype=float)
    affine[:3, 2] *= 4.0  # the affine's third column is array axis 0 (index order x, y, z)
    rng = np.random.default_rng(4000 + round(sigma))
    noisy = (thick + rng.normal(0.0, sigma / 255.0, thick.shape)).astype(np.float32)
    volume = Volume(data=noisy, affine=affine)
    result, seconds = timed(lambda: denoise(volume, load_model(model_dir)).data)
    clean_slices = np.moveaxis(thick, axis, 0)
    input_psnr = mean_psnr(clean_slices, np.moveaxis(noisy, axis, 0))
    psnr = mean_psnr(clean_slices, np.moveaxis(result, axis, 0))
    print(
        f"sigma {sigma:g}: thick-slice stack: input {input_psnr:.2f} dB -> prior {psnr:.2f} dB in {seconds:.0f} s"
    )
    return {
        "label": "Prior, default, on a 1 x 1 x 4 mm thick-slice stack of the dev volume",
        "input_psnr": round(input_psnr, 3),
        "psnr": round(psnr, 3),
        "gain_db": round(psnr - input_psnr, 3),
        "seconds": round(seconds, 1),
        "shape": list(volume.shape),
        "spacing_mm": [round(s, 3) for s in volume.spacing],
    }


def classical_rows(sigma: float, results: Path) -> list[dict[str, Any]]:
    """BM3D / BM4D with an estimated sigma from the curve results of this sigma (same protocol and seeds)."""
    path = results / f"curve-sigma{sigma:g}.json"
    if not path.is_file():
        return []
    document = json.loads(path.read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = next(
        (entry["rows"] for entry in document["sigmas"] if entry["sigma"] == sigma), []
    )
    return [
        {
            "label": row["label"],
            "psnr": round(row["psnr"], 3),
            "seconds": round(row["train_seconds"] + row["infer_seconds"], 1),
            "from": f"{path.as_posix()} (not rerun)",
        }
        for row in rows
        if row["label"] in CLASSICAL_LABELS and row.get("psnr") is not None
    ]


def main(argv: list[str] | None = None, prog: str = "fetal-denoise benchmark --prior") -> int:
    """Run the prior's rows and write benchmarks/results/prior-sigma<s>.json per sigma."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--sigmas", default="20,5", help="comma-separated sigmas on the 0-255 scale")
    parser.add_argument("--fit-steps", default="200,1000", help="fine-tuning budgets to run (0: none)")
    parser.add_argument("--no-ablations", action="store_true", help="only the default and the fits")
    parser.add_argument(
        "--downsample", type=int, default=1, help="every n-th voxel of the dev volume (tests)"
    )
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=PRIOR_DIR,
        help="a prior to measure instead of the shipped one (a pretraining's --out); fits still start from "
        "the shipped prior, so use --fit-steps 0 with it",
    )
    parser.add_argument(
        "--rows",
        choices=("all", "told"),
        default="all",
        help="told: only the default and the told-sigma rows (robustness to a wrong estimate)",
    )
    args = parser.parse_args(argv)
    command = shlex.join(
        ["fetal-denoise", "benchmark", "--prior", *(argv if argv is not None else sys.argv[2:])]
    )
    data = prepare(load_mni(args.downsample))
    manifest = json.loads((args.model_dir / "manifest.json").read_text(encoding="utf-8"))
    fit_steps = [int(s) for s in args.fit_steps.split(",") if s.strip() and int(s) > 0]
    for sigma in (float(s) for s in args.sigmas.split(",")):
        started = time.perf_counter()
        rows: list[dict[str, Any]] = classical_rows(sigma, Path("benchmarks/results")) + prior_rows(
            data,
            sigma,
            fit_steps=fit_steps,
            ablations=not args.no_ablations,
            model_dir=args.model_dir,
            told_only=args.rows == "told",
        )
        if args.downsample == 1:
            rows.append(thick_slice_row(sigma, args.model_dir))
        document = {
            "name": f"prior-sigma{sigma:g}",
            "command": command,
            "protocol": "benchmarks/data.py: MNI152 normalised min-max, seeded noise of this sigma over the whole "
            "volume, mean per-slice PSNR of the sagittal test slices; seconds are wall time on this machine",
            "data": data.describe(),
            "sigma": sigma,
            "prior": {
                "model_dir": args.model_dir.as_posix(),
                "weights_sha256": manifest["files"]["model.safetensors"],
                "started_from": manifest["data"].get("started_from"),
                "pretraining": manifest["data"].get("pretraining"),
                "generator": manifest["data"].get("generator"),
                "best_epoch": manifest["validation"].get("best_epoch"),
                "pretraining_seconds": manifest["validation"].get("seconds"),
            },
            "machine": {"platform": platform.platform(), "processor": platform.processor()},
            "rows": rows,
            "total_seconds": round(time.perf_counter() - started, 1),
        }
        args.out_dir.mkdir(parents=True, exist_ok=True)
        out = args.out_dir / f"prior-sigma{sigma:g}.json"
        out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
