"""GET / (the web page) and GET /static/{path} (its scripts, styles and the vendored NiiVue), open to all.

The page and its files hold no data: every job and volume it shows comes from the API with the key the user
types into it, so they need no API key themselves. Every answer carries a Content-Security-Policy that lets
the page run only this origin's script files and style sheets (no inline script or style, no eval, no other
origin), connect only to this origin, and never be framed.
"""

from __future__ import annotations

import gzip
import logging
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response
from fastapi.responses import FileResponse, HTMLResponse

from shared.methods.registry import registry
from shared.settings import Settings

router = APIRouter(tags=["page"], include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}
"""The only kinds of file served from static/ (so nothing else there, e.g. a stray script, is reachable)."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data: blob:",  # NiiVue draws its font and colour bars from data: images
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-cache",  # revalidate (ETag), so a new release of the page is picked up at once
}


METHODS_MARK = "<!-- methods: one option per registered method, written by the gateway (routes/page.py) -->"
"""Where index.html's method list goes."""


def method_options() -> str:
    """The page's method list, one <option> per registered method: its label, the model it starts from
    (data-model: its prior, empty when it fits) and its fit's default epochs (data-epochs)."""
    options = []
    for spec in registry().values():
        epochs = spec.fit_defaults.get("epochs", spec.config.model_fields["epochs"].default)
        options.append(
            f'<option value="{escape(spec.name)}" data-model="{escape(spec.prior or "")}" '
            f'data-epochs="{int(epochs)}">{escape(spec.label)}</option>'
        )
    return "\n            ".join(options)


@router.get("/")
def page() -> HTMLResponse:
    """The web page: submit a volume, watch the job, compare input and result, browse jobs and models."""
    text = (STATIC_DIR / "index.html").read_text(encoding="utf-8").replace(METHODS_MARK, method_options())
    return HTMLResponse(text, media_type=CONTENT_TYPES[".html"], headers=SECURITY_HEADERS)


@router.get("/static/{path:path}")
def static(path: str, accept_encoding: Annotated[str, Header()] = "") -> Response:
    """A file of the page; a file kept gzipped (the vendored NiiVue build) is sent as such to browsers."""
    file = _static_file(path)
    headers = dict(SECURITY_HEADERS)
    if file.is_file():
        return FileResponse(file, media_type=CONTENT_TYPES[file.suffix], headers=headers)
    packed = file.with_name(f"{file.name}.gz")
    if not packed.is_file():
        raise HTTPException(status_code=404, detail="Not Found")
    headers["Vary"] = "Accept-Encoding"
    if "gzip" in accept_encoding.lower():
        headers["Content-Encoding"] = "gzip"
        return FileResponse(packed, media_type=CONTENT_TYPES[file.suffix], headers=headers)
    return Response(
        gzip.decompress(packed.read_bytes()), media_type=CONTENT_TYPES[file.suffix], headers=headers
    )


def _static_file(path: str) -> Path:
    """The file under static/ a request names; 404 for anything outside it, hidden or of another kind."""
    file = (STATIC_DIR / path).resolve()
    parts = Path(path).parts
    if (
        not file.is_relative_to(STATIC_DIR)
        or file.suffix not in CONTENT_TYPES
        or any(part.startswith(".") for part in parts)
    ):
        raise HTTPException(status_code=404, detail="Not Found")
    return file


def announce_page(settings: Settings) -> None:
    """Log the page's address at start-up when the deployment says where users reach it (PUBLIC_URL)."""
    if settings.PUBLIC_URL:
        url = settings.PUBLIC_URL.rstrip("/")
        logging.getLogger("uvicorn.error").info("fetal-denoise web page: %s/ (API docs: %s/docs)", url, url)
