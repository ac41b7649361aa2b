"""N2V speed on this machine: training steps/s and seconds to denoise a 256x256x136 volume.

Run: .venv/bin/python -m benchmarks.n2v_speed [--steps 30] [--repeats 2] [--threads N] [--json PATH]

The volume is the MNI152 template (real anatomy, 1 mm) cut and padded to 136 sagittal slices of 256x256
(the paper's fetal geometry; sagittal is array axis 2 with a RAS affine), with sigma=20 Gaussian noise.
The model is the paper's (depth-2 U-Net, kernel 3, 32 first filters, batch norm, 64x64 patches, batch
16). Timings:
- training: the service's `train()`, per epoch after the first (which traces the graph), validation and
  our checkpoint included; and the bare Keras step (`train_on_batch` on one n2v batch) for comparison;
- inference: the service's `denoise()` on the whole volume (normalisation, slicing, n2v predict per
  slice, mapping back) next to a bare loop of n2v's `predict` over the same slices, best of `repeats`
  runs each, alternated, after a warm-up. The overhead is their difference.
Not a test: the figures depend on the machine and on what else runs on it (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from shared.volume import Volume

SHAPE_ZYX = (256, 256, 136)


def paper_volume(shape: tuple[int, int, int] = SHAPE_ZYX) -> Volume:
    """The MNI152 template cropped or zero-padded (centred) to `shape` (Z, Y, X), identity RAS affine."""
    from nilearn.datasets import load_mni152_template

    image = load_mni152_template(resolution=1)
    data = np.asarray(image.get_fdata(), dtype=np.float32).transpose(2, 1, 0)
    out = np.zeros(shape, dtype=np.float32)
    src, dst = [], []
    for have, want in zip(data.shape, shape, strict=True):
        if have >= want:
            start = (have - want) // 2
            src.append(slice(start, start + want))
            dst.append(slice(0, want))
        else:
            start = (want - have) // 2
            src.append(slice(0, have))
            dst.append(slice(start, start + have))
    out[tuple(dst)] = data[tuple(src)]
    return Volume(data=out, affine=np.eye(4))


def _best(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall-clock seconds of each function, the functions alternated `repeats` times."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def measure(steps: int, repeats: int, work: Path) -> dict[str, Any]:
    """Train briefly, then time denoise() against bare n2v predict; return the figures."""
    from services.n2v.noisy import noisy_from_clean
    from services.n2v.predict import denoise, load_model
    from services.n2v.sampler import AugmentingWrapper, make_manipulator
    from services.n2v.tf_env import quiet, tf, versions
    from services.n2v.train import train
    from shared.intensity import Normalisation
    from shared.methods.n2v import N2VConfig
    from shared.slices import slice_along, slice_axis

    (noisy,) = noisy_from_clean([paper_volume()], sigma=20, seed=0)
    config = N2VConfig(epochs=2, steps_per_epoch=steps)
    seconds: list[float] = []
    manifest = train(config, [noisy], work, progress=lambda p: seconds.append(p.seconds or 0.0))
    service_rate = steps / (seconds[1] - seconds[0])

    loaded = load_model(work)
    model = loaded.model
    mean, std = np.float32(model.config.means[0]), np.float32(model.config.stds[0])
    patches = np.random.default_rng(0).random((64, 64, 64, 1), dtype=np.float32)
    with quiet():
        batches = AugmentingWrapper(
            (patches - mean) / std,
            np.concatenate([(patches - mean) / std, np.zeros_like(patches)], axis=-1),
            batch_size=config.batch_size,
            length=1000,
            perc_pix=config.n2v_perc_pix,
            shape=config.patch_shape(),
            value_manipulation=make_manipulator(config),
        )
        model.prepare_for_training()  # n2v's compile: Adam, the masked loss, its metrics
    x, y = batches[0]
    keras_model = model.keras_model
    keras_model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        keras_model.train_on_batch(x, y)
    bare_rate = steps / (time.perf_counter() - start)
    keras_model.load_weights(str(work / "n2v" / "weights_best.h5"))  # train_on_batch changed them

    axis = slice_axis(noisy, config.plane)
    slices = slice_along(Normalisation().fit(noisy.data).normalise(noisy.data), axis)

    def bare_predict() -> None:
        with quiet():
            for image in slices:
                model.predict(np.ascontiguousarray(image), "YX")

    denoise(Volume(np.take(noisy.data, range(4), axis=axis), noisy.affine), loaded)  # warm-up: tracing
    best = _best({"denoise": lambda: denoise(noisy, loaded), "bare": bare_predict}, repeats)
    return {
        "volume_shape_zyx": list(noisy.shape),
        "slices": int(slices.shape[0]),
        "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
        "framework": versions(),
        "tf_threads": tf.config.threading.get_intra_op_parallelism_threads() or "default",
        "train_patches": manifest.data["n_train_patches"],
        "val_patches": manifest.data["n_val_patches"],
        "train_steps_per_s_service_incl_validation_and_checkpoint": round(service_rate, 3),
        "train_steps_per_s_bare_keras_step": round(bare_rate, 3),
        "denoise_volume_s": round(best["denoise"], 3),
        "bare_n2v_predict_volume_s": round(best["bare"], 3),
        "overhead_percent": round(100.0 * (best["denoise"] / best["bare"] - 1.0), 2),
        "repeats": repeats,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse arguments, run, print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="training steps per epoch (2 epochs)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each inference path")
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow intra-op threads")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    from services.n2v.tf_env import tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="n2v-speed-") as tmp:
        figures = measure(args.steps, args.repeats, Path(tmp) / "model")
    for key, value in figures.items():
        print(f"{key}: {value}")
    if args.json is not None:
        from shared.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
