"""The web page in a real browser: Debian's Chromium, headless, driven by Playwright, against the embedded
service (gateway + n2v and metrics workers, the queue in a folder) with an API key."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from services.embedded.runtime import embedded_service  # the one import of the embedded runtime here

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API_KEY = "browser-test-key-7f3a9c"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    # Chromium's own background connections would be refused on a closed network; keep it quiet.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOSTILE_NAME = "noisy <img src=x onerror=window.__injected=1>.zip"
"""An upload name that is also HTML: the page must show it as text."""
FIT = {"epochs": "3", "steps": "12"}
"""A tiny N2V fit: three epochs so the epoch counter visibly moves, a few seconds of training."""
FIT_FIELDS = '{"patch_size": 32, "lr": 0.003}'
"""The page's advanced config fields: patches that fit the 48x64x64 test volume, and a faster lr."""


def _playwright() -> Any:
    """Playwright's sync API and the system Chromium; skipped on a machine without them, a failure in CI."""
    chromium = shutil.which("chromium")
    try:
        from playwright import sync_api
    except ImportError:
        sync_api = None
    if sync_api is None or chromium is None:
        missing = "the playwright package" if sync_api is None else "Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(f"{missing} is missing: .ci/run installs it")
        pytest.skip(f"{missing} is not installed (apt-get install -y chromium; pip install -e .[dev])")
    return sync_api, chromium


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The embedded service with an API key; no n2n worker (the page's flows here fit N2V)."""
    env = {"API_KEY": API_KEY, "BROKER_URL": "", "RESULT_BACKEND": ""}
    data_dir = tmp_path_factory.mktemp("browser-service") / "data"
    with embedded_service(data_dir, env=env, queues=("n2v", "metrics")) as running:
        yield running


@pytest.fixture(scope="module")
def api(service: Any) -> Iterator[httpx.Client]:
    """An HTTP client of the same service, with the key: what the page shows is checked against it."""
    with httpx.Client(base_url=service.base_url, headers={"X-API-Key": API_KEY}, timeout=60.0) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the system package (Playwright never downloads a browser here)."""
    sync_api, chromium = _playwright()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


class PageWatch:
    """A browser tab with what it logged: console errors, CSP violations, every URL it requested."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.urls: list[str] = []
        page.on(
            "console", lambda message: self.errors.append(message.text) if message.type == "error" else None
        )
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.urls.append(request.url))


@pytest.fixture
def tab(browser: Any, service: Any) -> Iterator[PageWatch]:
    """A fresh tab (its own session storage) on the page, with CSP violations reported as console errors."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(f"{service.base_url}/")
    page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    yield watch
    context.close()


def _text(page: Any, selector: str) -> str:
    """The text of an element as the user sees it."""
    return page.text_content(selector) or ""


def _wait_until(condition: Any, what: str, timeout_s: float = 30.0) -> None:
    """Poll `condition()` from Python: the page's CSP (rightly) refuses the string evaluation that
    Playwright's own waiting for a JavaScript condition needs."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.2)


def _use_key(page: Any, key: str) -> None:
    """Type a key into the page and press its button."""
    page.fill("#api-key", key)
    page.click("#key-form button[type='submit']")


class _Markup(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' would block in a document."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "style" or "style" in names or any(name.startswith("on") for name in names):
            self.inline.append(f"<{tag} {sorted(names)}>")
        self._in_script = tag == "script" and "src" not in names
        if self._in_script:
            self.inline.append("<script> without src")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_page_loads_with_a_strict_csp_and_no_inline_code(tab: PageWatch, service: Any):
    """GET / sends a CSP without 'unsafe-inline' or 'unsafe-eval'; the page has no inline script, style or
    handler; it starts, loads the vendored NiiVue from this server, and breaks no rule of its CSP."""
    answer = httpx.get(f"{service.base_url}/")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy and "frame-ancestors 'none'" in policy
    markup = _Markup()
    markup.feed(answer.text)
    assert markup.inline == []
    assert tab.page.text_content("#niivue-version") == "NiiVue 0.69.0"
    assert tab.page.evaluate("typeof window.niivue.Niivue") == "function"
    assert tab.errors == []


def test_the_page_starts_from_the_shipped_prior(tab: PageWatch, service: Any):
    """With the key accepted the form offers n2n with the shipped prior (no fit budget to fill); n2v switches
    to a fit on the upload with its budget enabled, and back to n2n returns to the prior."""
    page = tab.page
    _use_key(page, API_KEY)
    _wait_until(lambda: _text(page, "#key-status") == "key accepted", "the key is accepted")
    _wait_until(lambda: page.input_value("#model") == "prior", "the prior is the model")
    assert page.input_value("#method") == "n2n"
    assert page.locator("#epochs").is_disabled()
    page.select_option("#method", "n2v")
    _wait_until(lambda: page.input_value("#model") == "", "n2v fits on the upload")
    assert page.locator("#epochs").is_enabled() and page.input_value("#epochs") == "20"
    page.select_option("#method", "n2n")
    _wait_until(lambda: page.input_value("#model") == "prior", "back to the prior")
    assert json.dumps(tab.errors) == "[]"


def test_wrong_api_key_shows_the_servers_error(tab: PageWatch):
    """A wrong key is refused with the server's message, next to the key field; nothing else is listed."""
    _use_key(tab.page, "not-the-key")
    _wait_until(
        lambda: "missing or wrong X-API-Key header" in _text(tab.page, "#key-status"), "the key is refused"
    )
    assert tab.page.locator("#jobs tbody tr").count() == 0


def _progress_samples(page: Any, timeout_s: float) -> list[tuple[str, str, float]]:
    """(status, epoch text, progress bar value) as the Watch panel shows them, until the job ends."""
    samples: list[tuple[str, str, float]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = page.text_content("#watch-status") or ""
        samples.append(
            (
                status,
                page.text_content("#watch-epoch") or "",
                float(page.eval_on_selector("#watch-progress", "p => p.value")),
            )
        )
        if status in {"succeeded", "failed"}:
            break
        time.sleep(0.25)
    return samples


def _canvas_pixels(page: Any, selector: str) -> np.ndarray:
    """What the browser shows in a canvas (a screenshot of the element, so WebGL buffers do not matter)."""
    from PIL import Image

    return np.asarray(
        Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("L"), dtype=np.float32
    )


def _voxels(page: Any) -> dict[str, str]:
    """The voxel under the cursor in each view, as the page prints it."""
    return {
        kind: page.text_content(f"[data-voxel='{kind}']") or "" for kind in ("input", "result", "difference")
    }


def test_dicom_zip_through_fit_to_comparison_download_and_estimate(
    tab: PageWatch, api: httpx.Client, service: Any, e2e_volumes: dict[str, Path]
):
    """A DICOM series zip and a NIfTI ground truth in, a tiny N2V fit: progress moves live; the three views
    render and follow each other; the metrics table is the job's; the download is GET /result's bytes; the
    next fit's expected time comes from this one; the name is text; the key is in no URL and no log."""
    page = tab.page
    _use_key(page, API_KEY)
    _wait_until(lambda: _text(page, "#key-status") == "key accepted", "the key is accepted")
    page.set_input_files(
        "#file",
        {"name": HOSTILE_NAME, "mimeType": "application/zip", "buffer": e2e_volumes["dicom"].read_bytes()},
    )
    page.set_input_files("#ground_truth", str(e2e_volumes["clean"]))
    page.select_option("#method", "n2v")
    page.fill("#epochs", FIT["epochs"])
    page.fill("#steps", FIT["steps"])
    page.click("details summary")
    page.fill("#params", FIT_FIELDS)
    _wait_until(lambda: "No n2v fit has finished" in _text(page, "#estimate"), "the estimate says no history")
    page.click("#submit-button")
    _wait_until(lambda: len(_text(page, "#watch-id")) == 32, "the job is accepted", timeout_s=60)
    job_id = page.text_content("#watch-id")

    samples = _progress_samples(page, timeout_s=300)
    assert samples[-1][0] == "succeeded", (samples[-1], page.text_content("#watch-error"))
    training = [(epoch, value) for status, epoch, value in samples if status == "running" and epoch]
    assert len({epoch for epoch, _ in training}) >= 2, samples  # e.g. "1 / 3" then "2 / 3": it moved live

    files = page.text_content("#watch-files") or ""
    assert HOSTILE_NAME in files  # shown verbatim, as text
    assert page.evaluate("window.__injected") is None and page.locator("#watch-files img").count() == 0

    page.wait_for_selector(f"#compare[data-loaded='{job_id}']", timeout=120_000)
    for kind in ("input", "result", "difference"):
        pixels = _canvas_pixels(page, f"#view-{kind}")
        assert pixels.std() > 10 and (pixels > 20).mean() > 0.05, kind  # a slice is drawn, not a blank canvas

    before = _voxels(page)
    assert before["input"] and before["input"] == before["result"] == before["difference"]
    box = page.locator("#view-input").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    for _ in range(3):
        page.mouse.wheel(0, 120)
        time.sleep(0.2)
    _wait_until(lambda: len(set(_voxels(page).values())) == 1, "the three views are at the same voxel")
    after = _voxels(page)
    assert after["input"] != before["input"] and after["input"] == after["result"] == after["difference"]

    job = api.get(f"/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["metrics"] is not None
    for row in ("volume", "slice_mean"):
        for metric, decimals in (("psnr", 2), ("rmse", 4), ("ssim", 4)):
            shown = page.text_content(f"#metrics [data-metrics='{row}'] [data-metric='{metric}']")
            assert float(shown) == pytest.approx(job["metrics"][row][metric], abs=0.6 * 10**-decimals), (
                row,
                metric,
            )
    # The estimates without the reference are shown too, as the job gives them.
    assert page.is_visible("#quality")
    shown_noise = page.text_content("#quality [data-quality='noise']") or ""
    assert shown_noise.startswith(f"{job['quality']['noise_sigma']:.4f}")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#compare").screenshot(path=str(ARTIFACTS / "compare.png"))

    with page.expect_download() as download_info:
        page.click("#download")
    downloaded = Path(download_info.value.path()).read_bytes()
    assert downloaded == api.get(f"/jobs/{job_id}/result").content
    assert download_info.value.suggested_filename.endswith("_denoised.zip")
    # What was removed, next to the result: GET /residual's bytes, in the input's format (a DICOM zip).
    assert page.is_visible("#download-residual")
    with page.expect_download() as residual_info:
        page.click("#download-residual")
    assert Path(residual_info.value.path()).read_bytes() == api.get(f"/jobs/{job_id}/residual").content
    assert residual_info.value.suggested_filename.endswith("_residual.zip")
    # One probe, as every job runs it, still gives the estimate an uncertainty, and the page shows it.
    shown_error = page.text_content("#quality [data-quality='error']") or ""
    assert f"RMSE {job['quality']['rmse_estimate']:.4f} +/- " in shown_error

    page.fill("#epochs", "4")  # asks for a new estimate: now from this server's finished fit
    _wait_until(lambda: "steps/s" in _text(page, "#estimate"), "the estimate uses the history")
    estimate = api.get("/estimates/fit", params={"method": "n2v", "epochs": 4, "steps_per_epoch": 12}).json()
    assert estimate["source"] == "job history" and estimate["based_on"] == 1
    assert estimate["note"] in (page.text_content("#estimate") or "")

    assert all(API_KEY not in url for url in tab.urls)
    logs = "".join(path.read_text(errors="replace") for path in (service.data_dir / "logs").glob("*.log"))
    assert API_KEY not in logs
    assert tab.errors == []


def test_cancel_from_the_page_stops_and_removes_the_job(
    tab: PageWatch, api: httpx.Client, e2e_volumes: dict[str, Path]
):
    """A fit cancelled while it trains says so on the page, and the job is gone from the API."""
    page = tab.page
    _use_key(page, API_KEY)
    _wait_until(lambda: _text(page, "#key-status") == "key accepted", "the key is accepted")
    page.set_input_files("#file", str(e2e_volumes["noisy"]))
    page.select_option("#method", "n2v")  # this service runs no n2n worker; n2n's default is the prior anyway
    page.fill("#epochs", "200")
    page.fill("#steps", "50")
    page.click("details summary")
    page.fill("#params", FIT_FIELDS)
    page.click("#submit-button")
    _wait_until(lambda: len(_text(page, "#watch-id")) == 32, "the job is accepted", timeout_s=60)
    job_id = page.text_content("#watch-id")
    # Cancel mid-training (where the worker checks for cancellation between steps), not while it loads.
    _wait_until(lambda: "training" in _text(page, "#watch-stage"), "the fit trains", timeout_s=120)
    page.click("#watch-cancel")
    _wait_until(lambda: _text(page, "#watch-status") == "cancelled", "the page says cancelled")
    assert re.search(r"cancelled; its files are removed", page.text_content("#watch-note") or "")
    assert api.get(f"/jobs/{job_id}").status_code == 404
    listed = [item["job_id"] for item in api.get("/jobs", params={"limit": 100}).json()["items"]]
    assert job_id not in listed
    assert json.dumps(tab.errors) == "[]"


def _register(data_dir: Path, model_id: str, psnr: float) -> None:
    """A registered N2V model as the registry keeps it (manifest and a weight file), without training."""
    from shared.manifest import write_manifest

    folder = data_dir / "models" / model_id
    folder.mkdir(parents=True)
    (folder / "weights_best.h5").write_bytes(model_id.encode())
    volume = {"shape": [48, 64, 64], "spacing_mm": [2.0, 2.0, 2.0]}
    write_manifest(
        folder,
        method="n2v",
        framework="test",
        config={"epochs": 2},
        data={"volumes": [volume]},
        validation={"val_psnr": psnr, "best_epoch": 2},
        files=["weights_best.h5"],
    )


def test_browse_pages_through_models_and_picks_one(tab: PageWatch, service: Any):
    """Eleven registered models: ten on the first page newest first with their data and validation, the
    eleventh behind "Older models"; "Use" picks a model for the next submission."""
    for index in range(11):
        _register(service.data_dir, f"n2v-browse-{index:02d}", 30.0 + index)
    page = tab.page
    _use_key(page, API_KEY)
    _wait_until(lambda: page.locator("#models tbody tr").count() == 10, "the first page of models is listed")
    first = page.locator("#models tbody tr").first
    assert "n2v-browse-10" in first.inner_text() and "PSNR 40.00 dB" in first.inner_text()
    assert "1 volume: 48×64×64 at 2×2×2 mm" in first.inner_text()
    page.click("#models-more")
    _wait_until(lambda: page.locator("#models tbody tr").count() == 11, "the older model is listed")
    assert "n2v-browse-00" in page.locator("#models tbody tr").last.inner_text()
    assert page.locator("#models-more").is_hidden()
    page.locator("[data-model-row='n2v-browse-03'] button").click()
    _wait_until(lambda: page.input_value("#model") == "n2v-browse-03", "the model is chosen")
    assert page.locator("#epochs").is_disabled()  # a registered model is used as trained: no fit budget
