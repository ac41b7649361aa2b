"""The FastAPI application: `uvicorn services.gateway.app:app` (settings from the environment)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI

from services.gateway.auth import ApiKeyMiddleware, announce_access
from services.gateway.deps import require_api_key
from services.gateway.errors import SafeJSONResponse, install_error_handlers
from services.gateway.limits import BodyLimitMiddleware, DiskRoomMiddleware
from services.gateway.openapi_schema import install_openapi
from services.gateway.protocol_errors import install_json_protocol_errors
from services.gateway.retention import sweep_expired_jobs
from services.gateway.routes import denoise, estimates, health, jobs, metrics, models, page, train, whoami
from services.gateway.slow_clients import install_slow_client_limits
from shared.jobs.paths import jobs_root, models_root
from shared.logs import configure_logging
from shared.queue.app import ensure_local_queue
from shared.settings import Settings, get_settings

DESCRIPTION = """Self-supervised MRI denoising as a service: Noise2Noise (PyTorch) and Noise2Void (TensorFlow).

Upload a volume to `/denoise` (202 + a job id), poll `/jobs/{id}`, download `/jobs/{id}/result`.
Train models with `/train`; they are listed under `/models`. Intensities are normalised to [0, 1] per
volume inside the methods and mapped back, so results keep the input's scale; sigma is on a 0-255 scale.
When the server has keys (the API_KEY setting, the admin's; or users made with `fetal-denoise users add`),
every route but /health, the web page and these docs needs the `X-API-Key` header, and each user sees only
their own jobs and models (and the models an admin shared); `/whoami` says whose a key is."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway; `settings` (tests, the embedded server) replace the environment's."""

    def current_settings() -> Settings:
        provider = app.dependency_overrides.get(get_settings, get_settings)
        return provider()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        current = current_settings()
        configure_logging(current)
        for folder in (jobs_root(Path(current.DATA_DIR)), models_root(Path(current.DATA_DIR))):
            folder.mkdir(parents=True, exist_ok=True)
        ensure_local_queue(current)
        announce_access(current)
        page.announce_page(current)
        sweeper = asyncio.create_task(sweep_expired_jobs(current))
        try:
            yield
        finally:
            sweeper.cancel()

    app = FastAPI(
        title="fetal-denoise",
        version="0.1.0",
        description=DESCRIPTION,
        default_response_class=SafeJSONResponse,
        lifespan=lifespan,
        # `/jobs/x/` is a 404 like any unknown path: Starlette's redirect to `/jobs/x` built its Location from
        # the client's Host header, so a forged Host sent the client (or a cache) elsewhere.
        redirect_slashes=False,
    )
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    app.add_middleware(
        DiskRoomMiddleware,
        room=lambda: (Path(current_settings().DATA_DIR), current_settings().MIN_FREE_DISK_BYTES),
    )
    app.add_middleware(BodyLimitMiddleware, limit=lambda: current_settings().MAX_UPLOAD_BYTES)
    # Added last, so it runs first: the key is checked before the body limit and before any body is read.
    app.add_middleware(ApiKeyMiddleware, settings=current_settings)
    install_error_handlers(app)
    install_json_protocol_errors()  # uvicorn's own 400, for a request that is not HTTP/1.1, is JSON too
    limits = settings or get_settings()  # uvicorn's connections: timeouts and a cap (slow_clients.py)
    install_slow_client_limits(limits.HEADER_TIMEOUT, limits.BODY_TIMEOUT, limits.MAX_CONNECTIONS)
    secured = [Depends(require_api_key)]
    for module in (denoise, train, jobs, models, metrics, estimates, whoami):
        app.include_router(module.router, dependencies=secured)
    app.include_router(health.router)
    app.include_router(page.router)  # the web page: no data, so no key (it asks for one)
    install_openapi(app)
    return app


app = create_app()
