"""The flow every method shares (shared.methods.workflow): series in and out, fits, pairs, output rules."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shared.errors import ConfigError, ShapeMismatchError
from shared.manifest import ModelManifest
from shared.methods import AnyConfig, MethodName, fit_config
from shared.methods.inference import InferenceOptions
from shared.methods.workflow import (
    MethodWorkflow,
    TrainingSet,
    check_volumes,
    load_workflow,
    parse_volumes,
    training_volumes,
)
from shared.progress import Progress, ProgressCallback
from shared.volume import Volume


class RecordingWorkflow(MethodWorkflow):
    """A method whose 'network' subtracts `shift`, recording what it was asked to train and predict on."""

    def __init__(self, method: MethodName, shift: float = 0.0) -> None:
        self.method = method  # type: ignore[misc]
        self.shift = shift
        self.trained: dict[str, Any] = {}
        self.predicted: list[np.ndarray] = []

    def train_volumes(
        self, config: AnyConfig, data: TrainingSet, out_dir: Path, *, progress: ProgressCallback, resume: bool
    ) -> ModelManifest:
        self.trained = {
            "config": config,
            "inputs": data.inputs,
            "second_acquisitions": data.second_acquisitions,
            "resume": resume,
        }
        return ModelManifest(
            method=self.method, framework="none", created=datetime.now(UTC), config={}, data={}, files={}
        )

    def predict(
        self,
        volumes: list[Volume],
        model_dir: Path,
        *,
        second_acquisitions: list[Volume] | None,
        progress: ProgressCallback,
        options: InferenceOptions | None = None,
    ) -> list[np.ndarray]:
        for i, _ in enumerate(volumes):
            progress(Progress(stage="predicting", fraction=(i + 1) / len(volumes)))
        self.predicted = [v.data for v in volumes]
        return [v.data - self.shift for v in volumes]

    def has_checkpoint(self, out_dir: Path) -> bool:
        return False


def _series(frames: int = 3, offset: float = 1.0) -> Volume:
    """A (T, Z, Y, X) series of distinct volumes with a non-identity geometry."""
    data = np.stack([np.full((4, 5, 6), offset + t, np.float32) for t in range(frames)])
    return Volume(data=data, affine=np.diag([0.8, 0.8, 4.0, 1.0]))


def test_a_series_is_fitted_on_all_its_volumes_and_denoised_volume_by_volume(tmp_path: Path) -> None:
    """N2V's case: one fit on every volume of the series; each volume predicted; a series comes back."""
    workflow = RecordingWorkflow("n2v", shift=0.5)
    series = _series()
    out = workflow.denoise_volume(series, work_dir=tmp_path)
    assert [v.shape for v in workflow.trained["inputs"]] == [(4, 5, 6)] * 3
    assert workflow.trained["config"] == fit_config("n2v", {})
    assert out.is_series and np.array_equal(out.affine, series.affine)
    assert np.array_equal(out.data, series.data - 0.5)


def test_repeats_pair_each_volume_with_the_next(tmp_path: Path) -> None:
    """N2N on a series of repetitions (several b=0 volumes): pairs (0, 1) and (1, 2)."""
    workflow = RecordingWorkflow("n2n")
    workflow.denoise_volume(_series(), work_dir=tmp_path, repeats=True)
    firsts = [float(v.data.flat[0]) for v in workflow.trained["inputs"]]
    partners = [float(v.data.flat[0]) for v in workflow.trained["second_acquisitions"]]
    assert (firsts, partners) == ([1.0, 2.0], [2.0, 3.0])


def test_second_acquisitions_pair_volume_by_volume() -> None:
    """Volume t of a series pairs with volume t of its second acquisition; shapes must match."""
    firsts, partners = training_volumes([_series()], [_series(offset=10.0)], repeats=False, method="n2n")
    assert partners is not None
    assert [float(v.data.flat[0]) for v in partners] == [10.0, 11.0, 12.0] and len(firsts) == 3
    with pytest.raises(ShapeMismatchError, match="pair 1: the first acquisition has shape"):
        training_volumes([_series()], [_series(frames=2)], repeats=False, method="n2n")


def test_repeats_are_refused_where_they_mean_nothing() -> None:
    """n2v trains on every volume anyway; a single volume has nothing to pair with."""
    with pytest.raises(ConfigError, match="n2v trains on every volume anyway"):
        training_volumes([_series()], None, repeats=True, method="n2v")
    with pytest.raises(ConfigError, match="at least 2 repeated volumes"):
        training_volumes([_series().frames()[0]], None, repeats=True, method="n2n")


def test_chosen_volumes_alone_are_paired_and_every_volume_is_denoised(tmp_path: Path) -> None:
    """A DWI series b=5, b=5, b=1500 (heudiconv's b0dwiForFmap): `volumes` (0, 1) trains on the b=5 pair only,
    never b=5 with b=1500, and the whole series is still denoised; they pair in the order given."""
    workflow = RecordingWorkflow("n2n")
    out = workflow.denoise_volume(_series(), work_dir=tmp_path, volumes=(0, 1))
    firsts = [float(v.data.flat[0]) for v in workflow.trained["inputs"]]
    partners = [float(v.data.flat[0]) for v in workflow.trained["second_acquisitions"]]
    assert (firsts, partners) == ([1.0], [2.0])
    assert out.is_series and out.shape == _series().shape
    firsts4, seconds4 = training_volumes(
        [_series(frames=4)], None, repeats=True, method="n2n", volumes=(3, 0, 1)
    )
    assert seconds4 is not None
    assert [float(v.data.flat[0]) for v in firsts4] == [4.0, 1.0]
    assert [float(v.data.flat[0]) for v in seconds4] == [1.0, 2.0]


@pytest.mark.parametrize(
    ("volumes", "message"),
    [
        ((0, 3), "volumes: input 0 holds 3 volumes (0 to 2); there is no volume 3"),
        ((1,), "volumes: choose at least 2 volumes that repeat the same acquisition, to pair; got 1"),
        ((1, 1), "volumes: volume 1 is listed twice; a volume cannot pair with itself"),
    ],
)
def test_chosen_volumes_outside_the_series_or_too_few_are_refused(
    volumes: tuple[int, ...], message: str
) -> None:
    """An index past the series, one volume alone, or a volume twice: one clear error, nothing trained."""
    with pytest.raises(ConfigError) as refused:
        training_volumes([_series()], None, repeats=False, method="n2n", volumes=volumes)
    assert str(refused.value) == message
    with pytest.raises(
        ConfigError, match=re.escape("holds a single volume (volume 0); there is no volume 1")
    ):
        check_volumes((0, 1), 1, "b0.nii.gz")
    with pytest.raises(ConfigError, match="n2v trains on every volume anyway"):
        training_volumes([_series()], None, repeats=False, method="n2v", volumes=(0, 1))


@pytest.mark.parametrize("text", ["0-1", "a,b", "0,,1", "-1,0", ""])
def test_a_volume_list_that_is_not_numbers_is_refused(text: str) -> None:
    """`--volumes` takes volume numbers from 0, separated by commas; anything else says so."""
    assert parse_volumes(" 0, 2 ") == (0, 2)
    with pytest.raises(ConfigError, match=re.escape("counted from 0 and separated by commas (e.g. 0,1)")):
        parse_volumes(text)


def test_a_magnitude_input_gives_a_magnitude_output(tmp_path: Path) -> None:
    """No negative voxel in, none out (set to 0); an input with negative values keeps them."""
    magnitude = Volume(data=np.linspace(0.0, 1.0, 120, dtype=np.float32).reshape(4, 5, 6))
    out = RecordingWorkflow("n2v", shift=0.5).denoise_volume(magnitude, model_dir=tmp_path)
    assert out.data.min() == 0.0 and np.array_equal(out.data, np.maximum(magnitude.data - 0.5, 0.0))
    signed = magnitude.with_data(magnitude.data - 0.1)
    assert RecordingWorkflow("n2v", shift=0.5).denoise_volume(signed, model_dir=tmp_path).data.min() < 0.0


def test_a_model_is_used_as_it_is_and_a_fit_needs_a_folder(tmp_path: Path) -> None:
    """With a model nothing trains; without one, the fit needs somewhere to train."""
    workflow = RecordingWorkflow("n2v")
    workflow.denoise_volume(_series(), model_dir=tmp_path)
    assert workflow.trained == {}
    with pytest.raises(ValueError, match="work_dir is needed"):
        workflow.denoise_volume(_series())


@pytest.mark.parametrize("method", ["n2n", "n2v"])
def test_predict_names_its_pairs_second_acquisitions(method: MethodName) -> None:
    """Every workflow's `predict` takes the same keywords as the contract: the second acquisitions by that
    name (`seconds` would read as time), so a caller's keyword reaches every method."""
    contract = inspect.signature(MethodWorkflow.predict).parameters
    assert "second_acquisitions" in contract and "seconds" not in contract
    assert list(inspect.signature(load_workflow(method).predict).parameters) == [
        name for name in contract if name != "self"
    ]
