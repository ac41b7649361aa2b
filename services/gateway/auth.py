"""Who is calling: the X-API-Key header, checked before a byte of the request's body is read.

A route dependency runs only after FastAPI has parsed the multipart body into temporary files, so a client
without a key could push up to MAX_UPLOAD_BYTES onto the gateway's disk before its 401. This middleware
answers 401 from the headers alone and never calls `receive`. Every path needs a key except the ones
listed in OPEN_PATHS / OPEN_PREFIXES, so a new route is protected unless someone opens it on purpose.

A key is either the API_KEY setting (the admin, named ADMIN_NAME) or a user's key from the users file
(shared/users.py). With neither configured the gateway is open, as it was before users existed: every
caller is OPEN_CALLER, who sees everything.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import InputError
from shared.settings import Settings
from shared.users import ADMIN_NAME, UsersFile, find_user, read_users, users_path

API_KEY_HEADER = "X-API-Key"
UNAUTHORIZED_DETAIL = f"missing or wrong {API_KEY_HEADER} header"

OPEN_PATHS = frozenset({"/health", "/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
"""Liveness, the web page (it holds no data and asks for the key itself) and the API's description (the
same as this repository's source; every call made from /docs still needs the key)."""
OPEN_PREFIXES = ("/static/",)
"""The web page's scripts, styles and the vendored viewer."""

logger = logging.getLogger("fetal_denoise.gateway")


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: the owner of what it makes, and whether they may see everything."""

    name: str | None
    """The user's name; None only on an open gateway (no key configured), whose jobs have no owner."""
    admin: bool


OPEN_CALLER = Caller(name=None, admin=True)
"""Every caller of a gateway without keys: it sees and deletes everything, as before users existed."""


def needs_key(path: str) -> bool:
    """Whether a request to `path` must carry a key (when the server has keys)."""
    return path not in OPEN_PATHS and not path.startswith(OPEN_PREFIXES)


class UserBook:
    """The users file, read again only when it changes (one stat per request), so a `users add` or
    `users revoke` takes effect on the next request without a restart."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[Path, tuple[tuple[int, int, int] | None, UsersFile | None]] = {}

    def users(self, data_dir: Path) -> UsersFile | None:
        """The users; None when there is no users file. An unreadable file counts as a file with no users:
        per-user keys stay required and fail, only API_KEY gets in, and the log says why."""
        path = users_path(data_dir)
        try:
            info = os.stat(path)
            signature: tuple[int, int, int] | None = (info.st_ino, info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            signature = None
        with self._lock:
            seen = self._seen.get(path)
            if seen is not None and seen[0] == signature:
                return seen[1]
        try:
            users = read_users(data_dir)
        except InputError as exc:
            logger.error("%s; no user key is accepted until it is fixed", exc)
            users = UsersFile()
        with self._lock:
            self._seen[path] = (signature, users)
        return users


USER_BOOK = UserBook()


def keys_required(settings: Settings) -> bool:
    """Whether this gateway wants a key: API_KEY is set, or a users file exists (even with no users left)."""
    return bool(settings.API_KEY.get_secret_value()) or USER_BOOK.users(Path(settings.DATA_DIR)) is not None


def identify(settings: Settings, given: str | bytes | None) -> Caller | None:
    """The caller a key belongs to; None when a key is required and this one is missing or unknown."""
    admin_key = settings.API_KEY.get_secret_value().encode()
    users = USER_BOOK.users(Path(settings.DATA_DIR))
    if not admin_key and users is None:
        return OPEN_CALLER
    if not given:
        return None
    key = given if isinstance(given, bytes) else given.encode()
    if admin_key and secrets.compare_digest(key, admin_key):
        return Caller(name=ADMIN_NAME, admin=True)
    user = find_user(users, key) if users is not None else None
    return Caller(name=user.name, admin=user.admin) if user is not None else None


def announce_access(settings: Settings) -> None:
    """Say at start-up whether keys are needed, and whose (a warning when the gateway is open to all)."""
    open_to_all = not keys_required(settings)
    logging.getLogger("uvicorn.error").log(
        logging.WARNING if open_to_all else logging.INFO, "%s", describe_access(settings)
    )


def describe_access(settings: Settings) -> str:
    """One line for the start-up log: whether keys are needed, and whose."""
    users = USER_BOOK.users(Path(settings.DATA_DIR))
    admin = bool(settings.API_KEY.get_secret_value())
    if not admin and users is None:
        return (
            f"access: open, no key configured (API_KEY is empty and there is no {users_path(settings.DATA_DIR)}): "
            "anyone who reaches the gateway sees, downloads and deletes every job and model"
        )
    count = len(users.users) if users is not None else 0
    who = ["API_KEY (the admin key)"] if admin else []
    who.append(f"{count} user key(s) in {users_path(settings.DATA_DIR)}")
    return f"access: an X-API-Key is required: {' and '.join(who)}; each user sees only their own jobs and models"


class ApiKeyMiddleware:
    """Answer 401 to a request without a known X-API-Key header, before the body is read."""

    def __init__(self, app: ASGIApp, settings: Callable[[], Settings]) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_key(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = API_KEY_HEADER.lower().encode()
        given = next((value for name, value in scope.get("headers") or [] if name == header), None)
        if identify(self.settings(), given) is not None:
            await self.app(scope, receive, send)
            return
        content = json.dumps({"detail": UNAUTHORIZED_DETAIL}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
