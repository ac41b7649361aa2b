"""N2N on CUDA: automatic device choice, bf16 mixed precision, resume, and agreement with the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from services.n2n.data import N2NTrainingData
from services.n2n.predict import denoise, load_model
from services.n2n.train import train
from shared.metrics import compare
from shared.progress import Progress

from .conftest import tiny_config

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


class _Stop(Exception):
    """Raised from a progress callback to interrupt a training after its first epoch."""


def _stop_after_first_epoch(event: Progress) -> None:
    """Interrupt the training once epoch 1 is checkpointed."""
    if event.val_loss is not None and event.epoch == 1:
        raise _Stop


def test_cuda_training_resumes_and_matches_cpu_inference(
    small_data: N2NTrainingData, noisy_small: tuple, tmp_path: Path
) -> None:
    """Training picks CUDA by itself (amp on), resumes to the full epoch count, and the model's CUDA
    predictions agree with its CPU predictions within bf16 precision."""
    config = tiny_config(epochs=3, steps_per_epoch=5, batch_size=8, crop_size=64)
    with pytest.raises(_Stop):
        train(config, small_data, tmp_path, progress=_stop_after_first_epoch)
    manifest = train(config, small_data, tmp_path, resume=True)
    assert [r["epoch"] for r in manifest.validation["history"]] == [1, 2, 3]
    on_gpu = load_model(tmp_path)
    assert on_gpu.device.type == "cuda" and on_gpu.config.amp
    _, noisy, _ = noisy_small
    gpu = denoise(noisy, on_gpu).data
    cpu = denoise(noisy, load_model(tmp_path, device="cpu")).data
    assert compare(cpu, gpu, data_range=float(np.ptp(cpu))).psnr > 35.0
