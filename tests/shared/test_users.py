"""The users file: hashed keys, names that cannot collide, and adds at the same time that lose no one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shared.errors import InputError
from shared.users import add_user, find_user, read_users, revoke_user, users_path


def test_adds_at_the_same_time_keep_every_user(tmp_path: Path):
    """Eight `users add` at once (each read-modify-write under the file lock): all eight are there, each
    key finds its own user."""
    names = [f"user{i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = dict(zip(names, pool.map(lambda name: add_user(tmp_path, name), names), strict=True))
    users = read_users(tmp_path)
    assert users is not None and sorted(user.name for user in users.users) == names
    for name, key in keys.items():
        found = find_user(users, key)
        assert found is not None and found.name == name


def test_a_broken_file_is_an_error_never_no_users(tmp_path: Path):
    """A users file that does not parse is refused (the gateway then admits no user key), and `users add`
    does not overwrite it with a fresh one."""
    users_path(tmp_path).write_text('{"users": [{"name": "alice"}]}')
    with pytest.raises(InputError, match="not a readable users file"):
        read_users(tmp_path)
    with pytest.raises(InputError):
        add_user(tmp_path, "bob")
    assert users_path(tmp_path).read_text() == '{"users": [{"name": "alice"}]}'


def test_revoking_the_last_user_keeps_the_file(tmp_path: Path):
    """The file outlives its last user, so a gateway with only user keys stays closed."""
    add_user(tmp_path, "alice")
    revoke_user(tmp_path, "alice")
    users = read_users(tmp_path)
    assert users is not None and users.users == []
