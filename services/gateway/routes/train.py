"""POST /train: train an N2N or N2V model on uploaded volumes; a successful job registers the model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from services.gateway.client_json import MAX_JSON_CHARS
from services.gateway.deps import CallerDep, DataDirDep, QueueDep, SettingsDep
from services.gateway.params import VOLUMES_PATTERN, PlaneChoice, check_training_budget, with_plane
from services.gateway.responses import UPLOAD_ERRORS
from services.gateway.schemas import Accepted
from services.gateway.submission import make_step, new_job_folder, parse_params, queue_job
from services.gateway.uploads import store_volume
from shared.errors import ConfigError
from shared.jobs.registry import ModelAccess, access_path, new_model_id, write_access
from shared.jobs.store import JobRecord, utcnow
from shared.methods import MethodName, train_config
from shared.methods.checks import check_request
from shared.methods.registry import method_spec, pairing_methods
from shared.methods.workflow import parse_volumes
from shared.noise import SIGMA_SCALE
from shared.queue.names import train_task
from shared.queue.payloads import TrainPayload, VolumeInput
from shared.volume import Volume, check_same_shape

router = APIRouter(prefix="/train", tags=["train"], responses=UPLOAD_ERRORS)


@router.post("", status_code=202, response_model=Accepted)
def train(
    settings: SettingsDep,
    data_dir: DataDirDep,
    queue: QueueDep,
    caller: CallerDep,
    method: Annotated[MethodName, Form(description="n2n (PyTorch) or n2v (TensorFlow).")],
    files: Annotated[
        list[UploadFile],
        File(min_length=1, description="Training volumes: noisy, or clean when sigma is given."),
    ],
    files2: Annotated[
        list[UploadFile] | None,
        File(
            description="n2n with real noise: the second noisy acquisition of each file, in the same order."
        ),
    ] = None,
    sigma: Annotated[
        float | None,
        Form(
            gt=0.0,
            le=SIGMA_SCALE,
            description="files are clean: add Gaussian noise of this sigma (0-255 scale).",
        ),
    ] = None,
    params: Annotated[
        str | None,
        Form(max_length=MAX_JSON_CHARS, description='JSON object of config fields, e.g. {"epochs": 2}.'),
    ] = None,
    plane: Annotated[
        PlaneChoice | None,
        Form(description="The plane of the 2D slices; default: the plane the slices were acquired in."),
    ] = None,
    repeats: Annotated[
        bool,
        Form(
            description="n2n: each file is a series (4D) of repeated acquisitions; train on consecutive pairs."
        ),
    ] = False,
    volumes: Annotated[
        str | None,
        Form(
            pattern=VOLUMES_PATTERN,
            description="n2n: only these volumes of each file's series are repetitions, e.g. 0,1 (counted from "
            "0; implies repeats); they pair in this order.",
        ),
    ] = None,
    paper: Annotated[
        bool,
        Form(
            description="Start from the paper's settings (n2v: batch norm, n2v's plateau lr schedule) instead "
            "of the tuned defaults (n2v: no batch norm, a 30% lr ramp-down, 1.5% blind spots); params apply over either."
        ),
    ] = False,
) -> Accepted:
    """Queue a training job; 202 with its id and the id its model will have."""
    config = train_config(method, with_plane(parse_params(params), plane), paper=paper)
    chosen = parse_volumes(volumes) if volumes else None
    repeats = repeats or chosen is not None
    files2 = files2 or []
    spec = method_spec(method)
    if not spec.pairs and repeats:
        raise ConfigError(
            f"repeats and volumes pair the volumes of a series for {pairing_methods()}; {method} trains on "
            "every volume"
        )
    if spec.pairs and [sigma is not None, bool(files2), repeats].count(True) > 1:
        raise ConfigError(
            "n2n training takes at most one of sigma (files are clean; noise is added), files2 (a second "
            "noisy acquisition of each file) or repeats (each file a series of repeated acquisitions); "
            "with none, each file is a single noisy scan, paired with recorrupted copies of itself"
        )
    if not spec.pairs and files2:
        raise ConfigError(f"files2 (second acquisitions) are only used by method {pairing_methods()}")
    if files2 and len(files2) != len(files):
        raise ConfigError(
            f"files2 must pair with files one to one: got {len(files)} files and {len(files2)} files2"
        )
    check_request(config, [], clean=sigma is not None)  # what the config alone decides, before any upload
    with new_job_folder(data_dir) as (job_id, folder):
        inputs: list[VolumeInput] = []
        second_inputs: list[VolumeInput] = []
        uploaded: list[Volume] = []
        names: dict[str, str] = {}
        for i, upload in enumerate(files):
            ref, volume, names[f"files[{i}]"] = store_volume(
                upload, folder / "inputs", f"input-{i}", settings
            )
            check_request(
                config,
                [(names[f"files[{i}]"], volume)],
                clean=sigma is not None,
                repeats=repeats,
                volumes=chosen,
            )
            inputs.append(ref)
            uploaded.append(volume)
            if files2:
                ref2, volume2, names[f"files2[{i}]"] = store_volume(
                    files2[i], folder / "inputs", f"second-{i}", settings
                )
                check_same_shape(volume, volume2, names[f"files[{i}]"], names[f"files2[{i}]"])
                second_inputs.append(ref2)
        check_training_budget(config, uploaded, settings)
        model_id = new_model_id(method)
        payload = TrainPayload(
            job_id=job_id,
            model_id=model_id,
            config=config,
            inputs=inputs,
            second_inputs=second_inputs,
            sigma=sigma,
            repeats=repeats,
            volumes=list(chosen) if chosen is not None else None,
        )
        record = JobRecord(
            id=job_id,
            kind="train",
            method=method,
            created=utcnow(),
            steps=[make_step(job_id, "train", train_task(method))],
            inputs=dict(sorted(names.items(), key=lambda item: item[0].startswith("files2"))),
            model_id=model_id,
            owner=caller.name,
        )
        # Written now: the worker registers the model later, and only the gateway knows who asked for it.
        write_access(data_dir, model_id, ModelAccess(owner=caller.name))
        try:
            return queue_job(data_dir, queue, record, [payload.model_dump(mode="json")])
        except BaseException:
            access_path(data_dir, model_id).unlink(missing_ok=True)  # not queued: no model will come
            raise
