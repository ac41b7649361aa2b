"""`fetal-denoise demo`: the whole product once, on real MRI, through the embedded service.

It writes the MNI152 template (nilearn) and a seeded sigma=20 noisy copy, starts the embedded service
(no Redis, no Docker), POSTs the noisy volume to /denoise with the clean one as ground truth (the service's
default: the shipped prior told the volume's estimated noise level, the one-noisy-scan case; `--fit`
fine-tunes it first, `--method n2v` fits N2V instead), follows the job, downloads the result, and reports
PSNR / RMSE / SSIM of the input and the output with a PNG of one slice. With --keep-serving the service
stays up afterwards, with the web page on the result.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from cli.method_options import method_option
from cli.progress_bar import progress_bar
from shared.errors import JobError
from shared.io import read_volume, write_volume
from shared.methods import MethodName, fit_config
from shared.methods.registry import method_spec
from shared.progress import Progress, ProgressCallback

POLL_SECONDS = 1.0


def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for the volumes, the result and the PNG.")] = Path(
        "demo-output"
    ),
    sigma: Annotated[float, typer.Option(help="Noise sigma on the 0-255 scale.")] = 20.0,
    seed: Annotated[int, typer.Option(help="Noise seed.")] = 0,
    method: Annotated[
        MethodName,
        method_option("n2n: the shipped prior (default); n2v: a fit of N2V on the noisy volume."),
    ] = "n2n",
    fit: Annotated[
        bool, typer.Option("--fit", metavar="", help="n2n: fine-tune the prior on the noisy volume first.")
    ] = False,
    epochs: Annotated[
        int | None, typer.Option(help="Fit epochs (default: the service's fit budget; implies a fit).")
    ] = None,
    steps_per_epoch: Annotated[
        int | None,
        typer.Option(help="Fit steps per epoch (default: the service's fit budget; implies a fit)."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 1800.0,
    keep_serving: Annotated[
        bool, typer.Option(help="Leave the service running with the web page on the result, until Ctrl-C.")
    ] = False,
) -> None:
    """Denoise a real MRI volume through the embedded service and report how much it improved."""
    import httpx

    from services.embedded.runtime import embedded_service

    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    clean_path, noisy_path = _write_inputs(out, sigma, seed)
    typer.echo(
        f"inputs: {clean_path} (MNI152 T1, 197x233x189) and {noisy_path} (sigma {sigma:g}, seed {seed})"
    )
    chosen = {"epochs": epochs, "steps_per_epoch": steps_per_epoch}
    fitting = method_spec(method).fits_without_model or fit or any(v is not None for v in chosen.values())
    params = {"seed": seed, **{k: v for k, v in chosen.items() if v is not None}}  # over the fit defaults
    budget = fit_config(method, params) if fitting else None
    form = {"method": method, **({"params": json.dumps(params)} if fitting else {})}
    with (
        embedded_service(out / "service") as service,
        httpx.Client(base_url=service.base_url, timeout=60) as client,
    ):
        typer.echo(f"embedded service up at {service.base_url} (local queue in {out / 'service'})")
        with noisy_path.open("rb") as noisy, clean_path.open("rb") as clean:
            accepted = client.post(
                "/denoise",
                files={"file": (noisy_path.name, noisy), "ground_truth": (clean_path.name, clean)},
                data=form,
            )
        accepted.raise_for_status()
        job_id = accepted.json()["job_id"]
        what = (
            "the shipped prior, told the volume's estimated noise level"
            if budget is None
            else f"{method} fitted on the noisy volume, {budget.epochs}x{budget.steps_per_epoch} steps"
            + (" from the prior" if method_spec(method).prior is not None else "")
        )
        typer.echo(f"POST /denoise -> job {job_id} ({what})")
        with progress_bar() as progress:
            job = _wait(client, job_id, timeout, progress)
        result_path = out / "denoised.nii.gz"
        result_path.write_bytes(client.get(f"/jobs/{job_id}/result").content)
        with noisy_path.open("rb") as noisy, clean_path.open("rb") as clean:
            scored = client.post(
                "/metrics",
                files={"prediction": (noisy_path.name, noisy), "ground_truth": (clean_path.name, clean)},
            )
        scored.raise_for_status()
        noisy_metrics = _wait(client, scored.json()["job_id"], timeout, None)["metrics"]
        _report(noisy_metrics, job["metrics"])
        png = _figure(clean_path, noisy_path, result_path, out / "demo.png", sigma)
        config = budget.model_dump(mode="json") if budget is not None else None
        record = _record(out, sigma, seed, what, config, noisy_metrics, job, started)
        typer.echo(f"result: {result_path}\nfigure: {png}\nfigures as JSON: {record}")
        if keep_serving:
            keep_serving_page(service.base_url, job_id)


def keep_serving_page(base_url: str, job_id: str) -> None:
    """Point the web page at the demo's job (opening a browser where there is a display), then wait for Ctrl-C."""
    import os
    import signal
    import sys
    import webbrowser

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    url = f"{base_url}/#job={job_id}"
    typer.echo(f"\nweb page on the result: {url}\nthe service keeps running; Ctrl-C stops it")
    # Without a display, webbrowser may start a text browser in this terminal: only open a graphical one.
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("darwin", "win32"):
        webbrowser.open(url)
    # `kill`, systemd or docker stop send SIGTERM: stop the workers as Ctrl-C does, not leave them running.
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("stopping the service")
    finally:
        signal.signal(signal.SIGTERM, previous)


def _write_inputs(out: Path, sigma: float, seed: int) -> tuple[Path, Path]:
    """The MNI152 template as it ships in nilearn, and its seeded noisy copy (noise relative to its range)."""
    from nilearn.datasets import load_mni152_template

    from shared.intensity import IntensityMapping
    from shared.noise import add_noise

    clean_path, noisy_path = out / "clean.nii.gz", out / "noisy.nii.gz"
    load_mni152_template(resolution=1).to_filename(clean_path)
    clean = read_volume(clean_path)
    mapping = IntensityMapping.min_max(clean.data)
    noisy = add_noise(mapping.normalise(clean.data), sigma, np.random.default_rng(seed))
    write_volume(
        clean.with_data(mapping.denormalise(noisy)), noisy_path, description=f"noise sigma {sigma:g}"
    )
    return clean_path, noisy_path


def _wait(client: Any, job_id: str, timeout: float, progress: ProgressCallback | None) -> dict[str, Any]:
    """Poll /jobs/{id} until it ends, feeding its progress to `progress`; a failure raises its message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if progress is not None:
            # The job's `progress` is the workers' own Progress event; before a worker reports, it is queued.
            progress(Progress.model_validate(job.get("progress") or {"stage": "queued", "fraction": 0.0}))
        if job["status"] == "succeeded":
            return job
        if job["status"] == "failed":
            raise JobError(f"job {job_id} failed: {job.get('error')}")
        time.sleep(POLL_SECONDS)
    raise JobError(f"job {job_id} did not finish within {timeout:g} s")


def _record(
    out: Path,
    sigma: float,
    seed: int,
    what: str,
    config: dict[str, Any] | None,
    noisy: dict[str, Any],
    job: dict[str, Any],
    started: float,
) -> Path:
    """demo.json: every figure the demo printed, with what made them, for the README to quote."""
    from shared.atomic import atomic_write_text

    summary = {
        "command": "fetal-denoise demo",
        "data": "MNI152 2009 T1 template (nilearn), 197x233x189, 1 mm",
        "sigma": sigma,
        "seed": seed,
        "method": f"{what}, through POST /denoise",
        "config": config,
        "noisy": {k: noisy[k] for k in ("volume", "slice_mean", "data_range")},
        "denoised": {k: job["metrics"][k] for k in ("volume", "slice_mean", "data_range")},
        "quality_without_reference": job.get("quality"),
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    path = out / "demo.json"
    atomic_write_text(path, json.dumps(summary, indent=2))
    return path


def _report(noisy: dict[str, Any], denoised: dict[str, Any]) -> None:
    """A table of PSNR / RMSE / SSIM for the noisy input and the denoised output."""
    typer.echo(
        f"\nagainst the clean template (data range {denoised['data_range']:g}; whole volume | mean of slices)"
    )
    typer.echo(f"{'':<10}{'PSNR (dB)':>18}{'RMSE':>20}{'SSIM':>18}")
    for label, metrics in (("noisy", noisy), ("denoised", denoised)):
        v, s = metrics["volume"], metrics["slice_mean"]
        typer.echo(
            f"{label:<10}{v['psnr']:>9.2f} |{s['psnr']:>6.2f}{v['rmse']:>11.4f} |{s['rmse']:>7.4f}"
            f"{v['ssim']:>9.4f} |{s['ssim']:>6.4f}"
        )


def _figure(clean: Path, noisy: Path, denoised: Path, png: Path, sigma: float) -> Path:
    """noisy | denoised | clean for the mid-sagittal slice."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = [read_volume(p).data for p in (noisy, denoised, clean)]  # (Z, Y, X): sagittal slices across X
    middle = images[2].shape[2] // 2
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.6))
    for ax, image, title in zip(
        axes, images, (f"noisy (sigma {sigma:g})", "N2V denoised", "clean"), strict=True
    ):
        ax.imshow(np.rot90(image[:, :, middle].T), cmap="gray", vmin=0.0, vmax=1.0)
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png
