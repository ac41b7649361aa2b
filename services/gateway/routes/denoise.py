"""POST /denoise: denoise one uploaded volume (with a registered model, or by fitting on it)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile

from services.gateway.access import caller_model
from services.gateway.client_json import MAX_JSON_CHARS
from services.gateway.deps import CallerDep, DataDirDep, QueueDep, SettingsDep
from services.gateway.params import VOLUMES_PATTERN, PlaneChoice, check_fit_budget, fitting_config, with_plane
from services.gateway.responses import UPLOAD_ERRORS
from services.gateway.schemas import Accepted
from services.gateway.submission import make_step, new_job_folder, parse_params, queue_job
from services.gateway.uploads import result_name, store_volume, upload_format
from shared.errors import ConfigError
from shared.jobs.store import JobRecord, utcnow
from shared.methods import AnyConfig, MethodName
from shared.methods.checks import check_request
from shared.methods.inference import InferenceOptions
from shared.methods.registry import inference_methods, method_spec, pairing_methods, prior_method
from shared.methods.workflow import parse_volumes
from shared.queue.names import METRICS_EVALUATE, denoise_task
from shared.queue.payloads import DenoisePayload, MetricsPayload, VolumeInput
from shared.volume import check_same_shape

router = APIRouter(prefix="/denoise", tags=["denoise"], responses=UPLOAD_ERRORS)


@router.post("", status_code=202, response_model=Accepted)
def denoise(
    settings: SettingsDep,
    data_dir: DataDirDep,
    queue: QueueDep,
    caller: CallerDep,
    file: Annotated[
        UploadFile, File(description="Noisy volume: .nii/.nii.gz, DICOM series .zip, .dcm or .npy.")
    ],
    method: Annotated[
        MethodName,
        Form(
            description="n2n (PyTorch; default: the shipped prior) or n2v (TensorFlow; fits on the upload)."
        ),
    ] = "n2n",
    model_id: Annotated[
        str | None,
        Form(description="A registered model, or 'prior' (the shipped prior: the n2n default without fit)."),
    ] = None,
    fit: Annotated[
        bool,
        Form(
            description="Train on the upload first: n2n fine-tunes the prior (200 steps unless params say "
            "otherwise), n2v fits from scratch (its default). params, plane, repeats or volumes imply it."
        ),
    ] = False,
    scratch: Annotated[
        bool, Form(description="n2n fit: from random weights instead of the prior (a scratch fit's budget).")
    ] = False,
    noise_sigma: Annotated[
        float | None,
        Form(
            ge=0.0,
            le=255.0,
            description="n2n models told the noise level (the prior): the upload's noise sigma on the 0-255 "
            "scale of its normalisation; default: file2's pair sigma, else the estimate.",
        ),
    ] = None,
    planes: Annotated[
        Literal["one", "three"],
        Form(description="n2n: 'three' averages the results across all three axes (near-isotropic voxels)."),
    ] = "one",
    file2: Annotated[
        UploadFile | None,
        File(description="n2n: a second noisy acquisition; trains on the pair, or averages two predictions."),
    ] = None,
    ground_truth: Annotated[
        UploadFile | None, File(description="A clean reference: adds PSNR / RMSE / SSIM to the job.")
    ] = None,
    params: Annotated[
        str | None,
        Form(
            max_length=MAX_JSON_CHARS,
            description='Fitting only: JSON object of config fields, e.g. {"epochs": 2}.',
        ),
    ] = None,
    series_uid: Annotated[
        str | None, Form(description="DICOM: the series to use when the zip holds several.")
    ] = None,
    plane: Annotated[
        PlaneChoice | None,
        Form(
            description="Fitting: the plane of the 2D slices; default: the plane the slices were acquired in."
        ),
    ] = None,
    repeats: Annotated[
        bool,
        Form(
            description="n2n fit on a series (4D) of repeated acquisitions: train on consecutive volume pairs."
        ),
    ] = False,
    volumes: Annotated[
        str | None,
        Form(
            pattern=VOLUMES_PATTERN,
            description="n2n fit: only these volumes of the series are repetitions, e.g. 0,1 (counted from 0; "
            "implies repeats); they pair in this order. Every volume is still denoised.",
        ),
    ] = None,
    keep_dtype: Annotated[
        bool,
        Form(
            description="Write the result in the input's integer data type (NIfTI, DICOM): rounded half to "
            "even and clipped to the type's range, through the input's own scaling. Default: float32 NIfTI."
        ),
    ] = False,
) -> Accepted:
    """Queue a denoising job; 202 with its id. Bad files, params or model ids are refused here, not queued."""
    model_id = model_id or None
    values = with_plane(parse_params(params), plane)
    chosen = parse_volumes(volumes) if volumes else None
    repeats = repeats or chosen is not None
    spec = method_spec(method)
    options = InferenceOptions(noise_sigma=noise_sigma, planes=planes)
    if not spec.inference_options and options != InferenceOptions():
        raise ConfigError(
            f"noise_sigma and planes apply to {inference_methods()} models; {method} takes neither"
        )
    fitting = fit or scratch or bool(values) or repeats or (spec.fits_without_model and model_id is None)
    if fitting and model_id is not None:
        raise ConfigError(
            f"fit, scratch, params, plane, repeats and volumes are for fitting; model {model_id} is used as it "
            "was trained"
        )
    if model_id is None and not fitting:
        model_id = spec.prior  # the default: the shipped prior, told the upload's noise level
    if model_id is not None:
        caller_model(data_dir, model_id, caller, expected_method=method)
    if file2 is not None and repeats:
        raise ConfigError(
            "give either file2 (a second acquisition) or repeats (a series of repetitions), not both"
        )
    if repeats and not spec.pairs:
        raise ConfigError(
            f"repeats and volumes pair the volumes of a series for {pairing_methods()}; {method} trains on "
            "every volume"
        )
    if not spec.pairs and file2 is not None:
        raise ConfigError(f"file2 (a second acquisition) is only used by method {pairing_methods()}")
    if scratch and spec.prior is None:
        raise ConfigError(
            f"scratch chooses how an {prior_method()} fit starts; {method} always fits from scratch"
        )
    config: AnyConfig | None = (
        None if model_id is not None else fitting_config(method, values, settings, scratch=scratch)
    )
    check_request(config, [])  # what the config alone decides (targets), before a byte is stored
    with new_job_folder(data_dir) as (job_id, folder):
        inputs = folder / "inputs"
        source, volume, source_name = store_volume(file, inputs, "input", settings, series_uid=series_uid)
        inputs_named = {"file": source_name}
        fmt = upload_format(source_name)
        # Every refusal the worker would make for this config, this volume and its result's format.
        check_request(
            config,
            [(source_name, volume)],
            repeats=repeats,
            volumes=chosen,
            output=result_name(source_name, fmt),
            keep_dtype=keep_dtype,
            output_named=False,
        )
        second: VolumeInput | None = None
        if file2 is not None:
            second, volume2, inputs_named["file2"] = store_volume(file2, inputs, "second", settings)
            check_same_shape(volume, volume2, source_name, inputs_named["file2"])
        if config is not None:
            check_fit_budget(config, [volume], settings)
        reference: VolumeInput | None = None
        if ground_truth is not None:
            reference, truth, inputs_named["ground_truth"] = store_volume(
                ground_truth, inputs, "ground_truth", settings
            )
            check_same_shape(volume, truth, source_name, inputs_named["ground_truth"])
        result = f"jobs/{job_id}/{result_name(source_name, fmt)}"
        steps = [make_step(job_id, "denoise", denoise_task(method))]
        payloads = [
            DenoisePayload(
                job_id=job_id,
                method=method,
                input=source,
                second=second,
                model_id=model_id,
                config=config,
                repeats=repeats,
                volumes=list(chosen) if chosen is not None else None,
                result=result,
                keep_dtype=keep_dtype,
                options=options,
            ).model_dump(mode="json")
        ]
        if reference is not None:
            steps.append(make_step(job_id, "metrics", METRICS_EVALUATE))
            prediction = VolumeInput(path=result, name=f"result of job {job_id}")
            payloads.append(
                MetricsPayload(
                    job_id=job_id,
                    prediction=prediction,
                    reference=reference,
                    report=f"jobs/{job_id}/metrics.json",
                ).model_dump(mode="json")
            )
        record = JobRecord(
            id=job_id,
            kind="denoise",
            method=method,
            created=utcnow(),
            steps=steps,
            inputs=inputs_named,
            input_format=fmt,
            series_uid=series_uid,
            warnings=list(volume.source.warnings) if volume.source is not None else [],
            result=result.rsplit("/", 1)[1],
            model_id=model_id,
            owner=caller.name,
        )
        return queue_job(data_dir, queue, record, payloads)
