"""A terminal progress bar fed by the cores' Progress events."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tqdm import tqdm

from shared.progress import Progress, ProgressCallback


def _postfix(event: Progress) -> dict[str, str]:
    fields = {"loss": event.loss, "val_loss": event.val_loss, "val_psnr": event.val_psnr}
    return {name: f"{value:.4g}" for name, value in fields.items() if value is not None}


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator[ProgressCallback]:
    """Yield a callback that draws one bar per stage (epochs while training, slices while predicting)."""
    state: dict[str, tqdm | str | None] = {"bar": None, "stage": None}

    def update(event: Progress) -> None:
        if not enabled:
            return
        bar = state["bar"]
        if state["stage"] != event.stage or not isinstance(bar, tqdm):
            if isinstance(bar, tqdm):
                bar.close()
            unit = "epoch" if event.stage == "training" else "%"
            total = event.epochs if event.stage == "training" and event.epochs else 100
            bar = tqdm(total=total, desc=event.stage, unit=unit, leave=True, dynamic_ncols=True)
            state["bar"], state["stage"] = bar, event.stage
        done = (
            event.epoch
            if event.stage == "training" and event.epoch is not None
            else round(event.fraction * 100)
        )
        bar.n = min(int(done), int(bar.total or done))
        bar.set_postfix(_postfix(event), refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar = state["bar"]
        if isinstance(bar, tqdm):
            bar.close()
