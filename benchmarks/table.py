"""The Markdown rendering of a benchmark result: one table per sigma, with the definitions above it."""

from __future__ import annotations

from benchmarks.results import BenchmarkResult, Row, SigmaResult

HEADER = (
    "| Method | PSNR (dB) | RMSE | SSIM | Test slices | Sigma given | Train steps | Train s | Infer s "
    "| Infer s/slice |"
)
RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"


def _num(value: float | None, digits: int) -> str:
    """A fixed-precision number, or a dash when there is none."""
    return "-" if value is None else f"{value:.{digits}f}"


def row_line(row: Row) -> str:
    """One Markdown table line for a row; a row without scores shows its status instead."""
    label = row.label if not row.note else f"{row.label} ({row.note})"
    if row.status != "ok":
        return f"| {label} | {row.status} | - | - | {row.n_test_slices} | - | - | - | - | - |"
    scope = f" ({row.infer_slices} slices)" if row.scope == "whole volume" else ""
    return (
        f"| {label} | {_num(row.psnr, 2)} | {_num(row.rmse, 4)} | {_num(row.ssim, 4)} | {row.n_test_slices} "
        f"| {_num(row.sigma_given, 1)} | {row.train_steps} | {row.train_seconds:.0f} "
        f"| {_num(row.infer_seconds, 1)}{scope} | {_num(row.infer_seconds_per_slice, 3)} |"
    )


def settings_lines(result: BenchmarkResult) -> list[str]:
    """One bullet per method that recorded its settings (the first sigma's; they do not vary by sigma)."""
    seen: dict[str, Row] = {}
    for sigma in result.sigmas:
        for row in sigma.rows:
            if row.settings and row.method not in seen:
                seen[row.method] = row
    return [
        f"- {row.label}: " + "; ".join(f"{key} {value}" for key, value in row.settings.items())
        for row in seen.values()
    ]


ESTIMATES_HEADER = (
    "| Method | sigma true | sigma est. | error | RMSE true | RMSE SURE | error | pair RMSE true "
    "| pair RMSE est. | error |"
)
ESTIMATES_RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f}%"


def estimate_lines(sigma: SigmaResult) -> list[str]:
    """The quality-without-ground-truth table of one sigma: estimates next to the truth, per learned row."""
    lines = []
    for row in sigma.rows:
        e = row.estimates
        if not e:
            continue
        lines.append(
            f"| {row.label} | {_num(e.get('sigma_true_255'), 2)} | {_num(e.get('sigma_estimated_255'), 2)} "
            f"| {_pct(e.get('sigma_relative_error'))} | {_num(e.get('rmse_true'), 4)} | {_num(e.get('rmse_sure'), 4)} "
            f"| {_pct(e.get('rmse_sure_relative_error'))} | {_num(e.get('rmse_pair_true'), 4)} "
            f"| {_num(e.get('rmse_pair'), 4)} | {_pct(e.get('rmse_pair_relative_error'))} |"
        )
    noise = sigma.noise_estimates
    if noise:
        lines.append(
            f"| the noisy volume itself | {_num(noise.get('sigma_true_255'), 2)} | "
            f"Gaussian noise {_num(noise.get('gaussian_estimated_255'), 2)} ({_pct(noise.get('gaussian_relative_error'))}), "
            f"Rician noise {_num(noise.get('rician_estimated_255'), 2)} ({_pct(noise.get('rician_relative_error'))}) "
            "| | | | | | | |"
        )
    return (
        [
            "",
            "Quality without a ground truth (RMSE over the anatomy, [0, 1] scale):",
            "",
            ESTIMATES_HEADER,
            ESTIMATES_RULE,
            *lines,
        ]
        if lines
        else []
    )


def _target(value: object) -> str:
    """A checked target in words: a time-to-quality target says how close it came."""
    if not isinstance(value, dict):
        return str(value)
    best = "never scored" if value["best_psnr_db"] is None else f"best {value['best_psnr_db']:.2f} dB"
    if value["met"] is None:
        ends = value.get("curve_ends_seconds") or 0.0
        return f"not decided: the curve ends at {ends / 60:.1f} min ({best}, goal {value['goal_db']:.2f} dB)"
    verdict = (
        "met"
        if value["met"]
        else f"missed by {value['short_by_db']} dB"
        if value["short_by_db"]
        else "missed"
    )
    return f"{verdict} ({best}, goal {value['goal_db']:.2f} dB)"


def to_markdown(result: BenchmarkResult, figure_name: str | None = None) -> str:
    """The whole result as Markdown: how it was made, the definitions, and a table per sigma."""
    budget = result.budget
    lines = [
        f"# Benchmark `{result.name}` ({budget.name} budget)",
        "",
        f"Command: `{result.command}`  ",
        f"Machine: {result.machine.get('summary', '')}  ",
        f"Finished: {result.created:%Y-%m-%d %H:%M} UTC, {result.total_seconds / 60:.1f} min in all.",
        "",
        f"Data: {result.data['source']}, {result.data['n_train']} / {result.data['n_val']} / "
        f"{result.data['n_test']} sagittal slices of {result.data['slice_shape'][0]}x"
        f"{result.data['slice_shape'][1]} for train / validation / test (split: {result.split.mode}).",
        "",
        f"Definitions: {result.protocol['metrics']} {result.protocol['aggregation']} "
        f"{result.protocol['noise']} {result.protocol.get('test_noise', '')}".rstrip(),
        "",
        f"Training: every learned method takes {budget.steps} optimiser steps ({budget.epochs} epochs x "
        f"{budget.steps_per_epoch}) of {budget.batch_size} patches of {budget.patch_size}x{budget.patch_size}, "
        f"Adam lr {budget.lr:g}, ramped down (cosine) over the last {budget.rampdown:.0%} of steps; N2V blind "
        f"spots: {'the service default' if budget.n2v_perc_pix is None else f'{budget.n2v_perc_pix:g}%'} of "
        f"each patch; N2V batch norm: {'on' if budget.n2v_batch_norm else 'off'}; N2V U-Net depth: "
        f"{budget.n2v_unet_depth}.",
    ]
    for sigma in result.sigmas:
        lines += ["", f"## sigma = {sigma.sigma:g} (on the 0-255 scale)", "", HEADER, RULE]
        lines += [row_line(row) for row in sigma.rows]
        if sigma.targets:
            lines += ["", "Targets: " + "; ".join(f"{k}: {_target(v)}" for k, v in sigma.targets.items())]
        lines += estimate_lines(sigma)
        for key, points in sigma.curves.items():
            trace = ", ".join(f"{p['seconds'] / 60:.1f} min {p['psnr']:.2f}" for p in points)
            lines += ["", f"Curve of {key} (training minutes, test PSNR dB): {trace}"]
    settings = settings_lines(result)
    if settings:
        lines += ["", "Settings of the classical rows:", "", *settings]
    lines += [
        "",
        "Sigma given: the noise level (0-255 scale) a method was told, true or estimated. Infer s: "
        "wall-clock denoising time on this machine, noise estimate included; 3D rows denoise the whole "
        "volume (its slice count in brackets), 2D rows the test slices; s/slice divides by the slices "
        "denoised.",
    ]
    if figure_name:
        lines += ["", f"![clean, noisy and denoised test slice]({figure_name})"]
    return "\n".join(lines) + "\n"
