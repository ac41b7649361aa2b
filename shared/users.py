"""Per-user API keys: `DATA_DIR/users.json`, written by `fetal-denoise users`, read by the gateway.

The file holds each user's name, whether they are an admin, and the SHA-256 of their key; never the key
itself, which is printed once when the user is added. Keys are 256 random bits, so an unsalted hash is
enough: nobody can search that space from a stolen file. The file's existence turns keys on: a gateway
with no API_KEY and no users file is open (as it always was), but one whose users were all revoked stays
closed. A user's name is the owner recorded on their jobs and models; ADMIN_NAME is the identity of the
API_KEY setting and cannot be given to a user.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.atomic import atomic_write_text
from shared.errors import InputError

USERS_NAME = "users.json"
ADMIN_NAME = "admin"
"""Who the API_KEY setting is: the owner of the jobs and models made with it."""
NAME_PATTERN = r"^[a-z][a-z0-9_.-]{0,31}$"
"""Lower-case, so 'Alice' and 'alice' can never be two owners."""
_NAME_RE = re.compile(NAME_PATTERN)
KEY_PREFIX = "fdk_"
"""Marks a string as one of these keys (in a shell history, a leaked paste, a secret scanner's rules)."""


class UserEntry(BaseModel):
    """One user as stored: no key, only its hash."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="The user's name; the owner of what they make.")
    admin: bool = Field(default=False, description="Sees, deletes and shares every job and model.")
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of the user's key.")
    created: datetime = Field(description="UTC time the key was made.")


class UsersFile(BaseModel):
    """The whole users file."""

    model_config = ConfigDict(extra="forbid")

    users: list[UserEntry] = Field(default_factory=list)


def users_path(data_dir: Path) -> Path:
    """Where the users file lives."""
    return Path(data_dir) / USERS_NAME


def hash_key(key: str | bytes) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode() if isinstance(key, str) else key).hexdigest()


def read_users(data_dir: Path) -> UsersFile | None:
    """The users file; None when there is none. A file that does not parse is an error, never 'no users'
    (which would open a gateway that has only per-user keys)."""
    path = users_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return UsersFile.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        raise InputError(f"{path} is not a readable users file ({exc.__class__.__name__})") from exc


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[UsersFile]:
    """The users file under an exclusive lock, written back atomically (mode 0600) when the block succeeds,
    so two `users add` at once cannot lose one another's user."""
    path = users_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{USERS_NAME}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_users(data_dir) or UsersFile()
        yield current
        # atomic_path's temporary file is made by mkstemp (0600), and the rename keeps that mode.
        atomic_write_text(path, current.model_dump_json(indent=2) + "\n")


def check_name(name: str) -> str:
    """A valid user name, or an error saying what a name may be."""
    if name == ADMIN_NAME:
        raise InputError(f"{ADMIN_NAME!r} is the API_KEY setting's own name; choose another")
    if not _NAME_RE.match(name):
        raise InputError(f"user name {name!r}: 1 to 32 of a-z, 0-9, '_', '.', '-', starting with a letter")
    return name


def add_user(data_dir: Path, name: str, admin: bool = False) -> str:
    """Add a user with a fresh key and return the key (the only time it exists outside the caller's hands).

    A name that was revoked may be added again: it is the same owner, with a new key to what they made.
    """
    check_name(name)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with _locked(data_dir) as users:
        if any(user.name == name for user in users.users):
            raise InputError(f"user {name!r} exists; revoke it first to give it a new key")
        users.users.append(
            UserEntry(name=name, admin=admin, key_sha256=hash_key(key), created=datetime.now(UTC))
        )
    return key


def revoke_user(data_dir: Path, name: str) -> None:
    """Remove a user's key: their next request is a 401. What they made stays, owned by their name."""
    with _locked(data_dir) as users:
        kept = [user for user in users.users if user.name != name]
        if len(kept) == len(users.users):
            raise InputError(f"no user {name!r} in {users_path(data_dir)}")
        users.users = kept


def find_user(users: UsersFile, key: str | bytes) -> UserEntry | None:
    """The user whose key this is, compared in constant time against every stored hash."""
    digest = hash_key(key).encode()
    found = None
    for user in users.users:
        if secrets.compare_digest(digest, user.key_sha256.encode()):
            found = user
    return found
