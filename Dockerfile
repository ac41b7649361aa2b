# Every image of fetal-denoise, one target per service (docker-compose.yml names each one):
#   gateway          FastAPI, CPU only; never imports torch or tensorflow
#   worker-n2n       Noise2Noise, PyTorch, Celery queue `n2n`
#   worker-n2v       Noise2Void, TensorFlow + n2v, Celery queue `n2v`
#   worker-metrics   PSNR / RMSE / SSIM, Celery queue `metrics`
# Build from the repository root with BuildKit (Docker's default builder since 23.0; DOCKER_BUILDKIT=1 on 20.10):
#   docker build --target worker-n2n -t fetal-denoise/worker-n2n .
#
# GPU builds are the default: worker-n2n takes torch==2.13.0 from PyPI (CUDA 13.0 wheels: host driver >= 580),
# worker-n2v tensorflow[and-cuda]==2.21.0 (CUDA 12 wheels: driver >= 525). The CUDA libraries come as wheels,
# so the base image needs no CUDA. CPU images come from the same file, through build arguments:
#   --build-arg TENSORFLOW=tensorflow-cpu
#   --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu    (or another CUDA, e.g. .../whl/cu126)
#   --build-arg TORCH_WHEEL=torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl   (a file in docker/wheels/)
# Behind a TLS-inspecting proxy, hand pip its CA bundle for the build only (never stored in a layer):
#   --secret id=pip-cert,src=/etc/ssl/certs/ca-certificates.crt
# PYTHON_IMAGE: any Debian bookworm image with python3.11, `python` and venv (docker/stack-test.sh makes one
# with debootstrap where no registry is reachable).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: an empty venv with the pinned pip; each deps-* stage fills a copy of it ---
FROM ${PYTHON_IMAGE} AS builder
# The constraints pin every package to the version the test suite ran with (docker/freeze-constraints.sh).
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CONSTRAINT=/opt/constraints.txt PATH=/opt/venv/bin:$PATH
COPY docker/constraints.txt /opt/constraints.txt
COPY docker/pip-install.sh /usr/local/bin/pip-install
# The pip cache is a BuildKit cache mount: downloads are kept between builds, outside every image.
RUN --mount=type=secret,id=pip-cert --mount=type=cache,id=fetal-denoise-pip,target=/root/.cache/pip \
    python -m venv /opt/venv && pip-install pip setuptools wheel
WORKDIR /src

FROM builder AS deps-gateway
# pyproject.toml alone: a dependency layer is rebuilt only when the dependencies change.
COPY pyproject.toml ./
RUN --mount=type=secret,id=pip-cert --mount=type=cache,id=fetal-denoise-pip,target=/root/.cache/pip \
    pip-install --no-build-isolation ".[gateway]" && pip uninstall -y fetal-denoise

FROM builder AS deps-metrics
COPY pyproject.toml ./
RUN --mount=type=secret,id=pip-cert --mount=type=cache,id=fetal-denoise-pip,target=/root/.cache/pip \
    pip-install --no-build-isolation ".[metrics]" && pip uninstall -y fetal-denoise

FROM builder AS deps-n2n
ARG TORCH_WHEEL=
ARG TORCH_INDEX_URL=
# torch first, alone: the largest layer, rebuilt only when its pin, index or wheel changes.
RUN --mount=type=secret,id=pip-cert --mount=type=cache,id=fetal-denoise-pip,target=/root/.cache/pip \
    --mount=type=bind,source=docker/wheels,target=/wheels \
    if [ -n "$TORCH_WHEEL" ]; then pip-install "/wheels/$TORCH_WHEEL"; \
    else pip-install "torch==2.13.0" \
      ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL" --extra-index-url https://pypi.org/simple}; fi
COPY pyproject.toml ./
RUN --mount=type=secret,id=pip-cert --mount=type=cache,id=fetal-denoise-pip,target=/root/.cache/pip \
    pip-install --no-build-isolation ".[n2n]" && pip uninstall -y fetal-denoise

FROM builder AS deps-n2v
ARG TENSORFLOW=tensorflow[and-cuda]
# TensorFlow first, alone: the largest layer. The n2v extra leaves the TensorFlow build to the image.
RUN --mount=type=secret,id=pip-cert --mount=type=cache,id=fetal-denoise-pip,target=/root/.cache/pip \
    pip-install "${TENSORFLOW}==2.21.0"
COPY pyproject.toml ./
# tf-keras declares `tensorflow`; --no-deps keeps pip from adding the GPU build beside tensorflow-cpu.
RUN --mount=type=secret,id=pip-cert --mount=type=cache,id=fetal-denoise-pip,target=/root/.cache/pip \
    pip-install --no-build-isolation ".[n2v]" && pip uninstall -y fetal-denoise \
    && pip-install --no-deps "tf-keras==2.21.0"

# --- runtime: what every service image shares ---
FROM ${PYTHON_IMAGE} AS runtime
ARG APP_UID=10001
# One UID in every image: the services share files through the /data volume.
RUN groupadd --gid ${APP_UID} app \
    && useradd --uid ${APP_UID} --gid app --create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data && chown app:app /data
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 DATA_DIR=/data
WORKDIR /app

FROM runtime AS code
COPY docker/healthcheck.py docker/healthcheck.py
COPY shared/ shared/
COPY services/ services/
RUN python -m compileall -q /app

FROM runtime AS gateway
COPY --from=deps-gateway /opt/venv /opt/venv
COPY --from=code /app /app
# `docker compose exec gateway python -m cli.users add NAME`: keys made in the container, as the gateway's user.
COPY cli/__init__.py cli/users.py cli/
USER app
# uvicorn reads UVICORN_HOST / UVICORN_PORT; the health check follows UVICORN_PORT.
ENV UVICORN_HOST=0.0.0.0 UVICORN_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py", "http", "/health"]
CMD ["uvicorn", "services.gateway.app:app"]

FROM runtime AS worker-metrics
COPY --from=deps-metrics /opt/venv /opt/venv
COPY --from=code /app /app
USER app
HEALTHCHECK --interval=30s --timeout=6s --start-period=30s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py", "worker"]
# -A names the module that registers the tasks.
CMD ["celery", "-A", "services.metrics.tasks", "worker", "-Q", "metrics", "--concurrency", "2", \
     "-n", "metrics@%h", "--loglevel", "INFO"]

# The GPU workers: --pool prefork, concurrency 1: one task at a time in a child process, so a killed child is
# redelivered (acks_late) and DELETE /jobs can terminate a running job; the parent never imports torch/TF.
FROM runtime AS worker-n2n
COPY --from=deps-n2n /opt/venv /opt/venv
COPY --from=code /app /app
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER app
HEALTHCHECK --interval=30s --timeout=6s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py", "worker"]
CMD ["celery", "-A", "services.n2n.tasks", "worker", "-Q", "n2n", "--concurrency", "1", "--pool", "prefork", \
     "-n", "n2n@%h", "--loglevel", "INFO"]

FROM runtime AS worker-n2v
COPY --from=deps-n2v /opt/venv /opt/venv
COPY --from=code /app /app
# TF_USE_LEGACY_KERAS: n2v 0.3.3 needs Keras 2, and the variable must be set before TensorFlow loads.
# TF_FORCE_GPU_ALLOW_GROWTH: TensorFlow would otherwise take the whole GPU, which it may share with N2N.
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    TF_USE_LEGACY_KERAS=1 TF_FORCE_GPU_ALLOW_GROWTH=true TF_CPP_MIN_LOG_LEVEL=1 MPLBACKEND=Agg
USER app
HEALTHCHECK --interval=30s --timeout=6s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py", "worker"]
CMD ["celery", "-A", "services.n2v.tasks", "worker", "-Q", "n2v", "--concurrency", "1", "--pool", "prefork", \
     "-n", "n2v@%h", "--loglevel", "INFO"]
