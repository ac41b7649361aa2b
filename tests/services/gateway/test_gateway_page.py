"""GET / and /static: the web page, its security headers, and the vendored NiiVue build."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from services.gateway.routes.page import STATIC_DIR
from shared.settings import Settings

VENDOR = STATIC_DIR / "vendor"
REPOSITORY_FILE_LIMIT = 2 * 1024 * 1024


def test_page_needs_no_key_but_the_api_still_does(client: TestClient, settings: Settings):
    """With API_KEY set, the page and its files load without it (they hold no data); the API does not."""
    settings.API_KEY = "s3cret"
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/static/js/main.js">' in page.text
    assert client.get("/static/js/main.js").status_code == 200
    assert client.get("/jobs").status_code == 401


def test_page_and_its_files_carry_a_strict_policy(client: TestClient):
    """Every page answer forbids inline code, other origins and framing, and content-type sniffing."""
    for url in ("/", "/static/js/compare.js", "/static/page.css", "/static/vendor/niivue.umd.js"):
        headers = client.get(url).headers
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
        assert headers["x-content-type-options"] == "nosniff", url


def test_only_page_files_inside_static_are_served(client: TestClient):
    """Paths that climb out of static/, hidden files and other kinds of file are 404."""
    for path in (
        "../routes/page.py",
        "%2e%2e/app.py",
        "..%2f..%2fapp.py",
        "js/../../update_niivue.py",
        "vendor/nope.js",
    ):
        assert client.get(f"/static/{path}").status_code == 404, path


def test_vendored_niivue_is_the_recorded_release_and_served_whole():
    """The gzipped build decompresses to the sha256 and size recorded from the npm tarball; it stays under
    the repository's file limit; its licence and the bundled packages' notices are beside it."""
    record = json.loads((VENDOR / "niivue.json").read_text())
    packed = (VENDOR / "niivue.umd.js.gz").read_bytes()
    built = gzip.decompress(packed)
    assert (hashlib.sha256(built).hexdigest(), len(built)) == (record["sha256"], record["bytes"])
    assert record["package"] == "@niivue/niivue" and re.fullmatch(r"\d+\.\d+\.\d+", record["version"])
    assert len(packed) < REPOSITORY_FILE_LIMIT
    assert "BSD 2-Clause" in (VENDOR / "LICENSE-niivue.txt").read_text()
    notices = (VENDOR / "THIRD-PARTY-NOTICES.txt").read_text()
    assert all(f"{name} {info['version']}" in notices for name, info in record["bundled"].items())


def test_vendored_niivue_is_sent_gzipped_or_plain(client: TestClient):
    """A browser that accepts gzip gets the stored bytes with Content-Encoding; another gets the plain file."""
    packed = (VENDOR / "niivue.umd.js.gz").read_bytes()
    zipped = client.get("/static/vendor/niivue.umd.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["content-type"] == "text/javascript; charset=utf-8"
    assert zipped.content == gzip.decompress(packed)  # the client decodes it
    plain = client.get("/static/vendor/niivue.umd.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == gzip.decompress(packed)


def test_page_scripts_write_text_never_html():
    """No page script parses strings as HTML or code, so an uploaded file name can only ever be text; the key
    is kept in sessionStorage, never localStorage."""
    scripts = {path.name: path.read_text() for path in (STATIC_DIR / "js").glob("*.js")}
    assert {"main.js", "api.js", "submit.js", "watch.js", "compare.js", "browse.js", "dom.js"} <= set(scripts)
    forbidden = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|localStorage\."
    )
    assert {name: forbidden.findall(text) for name, text in scripts.items() if forbidden.search(text)} == {}


def test_every_file_the_page_names_is_served(client: TestClient):
    """Each /static/ path in the page and its scripts answers 200 (a renamed file would break the page)."""
    texts = [(STATIC_DIR / "index.html").read_text()] + [
        p.read_text() for p in (STATIC_DIR / "js").glob("*.js")
    ]
    named = {match for text in texts for match in re.findall(r"/static/[\w./-]+", text)}
    assert "/static/vendor/niivue.umd.js" in named
    assert {url: client.get(url).status_code for url in sorted(named)} == dict.fromkeys(sorted(named), 200)


def test_gateway_startup_logs_the_page_url(settings: Settings, caplog):
    """With PUBLIC_URL set (docker compose sets it), starting the gateway logs the page's address."""
    from services.gateway.app import create_app

    settings.PUBLIC_URL = "http://localhost:8123/"
    with caplog.at_level("INFO", logger="uvicorn.error"), TestClient(create_app(settings)):
        pass
    assert (
        "fetal-denoise web page: http://localhost:8123/ (API docs: http://localhost:8123/docs)" in caplog.text
    )


def test_static_dir_holds_only_what_is_served():
    """Nothing in static/ is of a kind the page route refuses (a file there is either served or a mistake)."""
    from services.gateway.routes.page import CONTENT_TYPES

    kinds = {
        path.suffix for path in STATIC_DIR.rglob("*") if path.is_file() and not path.name.endswith(".gz")
    }
    assert kinds <= set(CONTENT_TYPES), kinds
    assert Path(VENDOR / "niivue.umd.js.gz").is_file()
