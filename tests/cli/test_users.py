"""`fetal-denoise users add|list|revoke`: keys printed once, stored hashed, and what the gateway then accepts."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shared.settings import Settings
from shared.users import find_user, read_users, users_path


def test_add_prints_a_key_once_and_stores_only_its_hash(run_cli, tmp_path: Path):
    """`users add` prints the new key on stdout (nothing else there); the file holds its SHA-256, not the key."""
    result = run_cli("users", "add", "alice", "--data-dir", tmp_path)
    assert result.code == 0, result.err
    key = result.out.strip()
    assert key.startswith("fdk_") and len(key) > 40
    assert "shown only this once" in result.err
    text = users_path(tmp_path).read_text()
    assert key not in text and key[4:] not in text
    assert hashlib.sha256(key.encode()).hexdigest() in text
    users = read_users(tmp_path)
    assert users is not None
    found = find_user(users, key)
    assert found is not None and (found.name, found.admin) == ("alice", False)


def test_list_shows_names_and_roles_never_keys(run_cli, tmp_path: Path):
    """`users list`: one line per user, sorted, with its role; no key and no hash."""
    bob_key = run_cli("users", "add", "bob", "--admin", "--data-dir", tmp_path).out.strip()
    run_cli("users", "add", "alice", "--data-dir", tmp_path)
    result = run_cli("users", "list", "--data-dir", tmp_path)
    assert result.code == 0, result.err
    rows = [line.split("\t")[:2] for line in result.out.splitlines()]
    assert rows == [["alice", "user"], ["bob", "admin"]]
    assert bob_key not in result.out and hashlib.sha256(bob_key.encode()).hexdigest() not in result.out


def test_revoke_removes_the_key_and_the_name_can_be_added_again(run_cli, tmp_path: Path):
    """A revoked key no longer matches; adding the name again makes a different key that does."""
    old = run_cli("users", "add", "alice", "--data-dir", tmp_path).out.strip()
    result = run_cli("users", "revoke", "alice", "--data-dir", tmp_path)
    assert (result.code, result.out.strip()) == (0, "revoked alice")
    users = read_users(tmp_path)
    assert users is not None and find_user(users, old) is None
    new = run_cli("users", "add", "alice", "--data-dir", tmp_path).out.strip()
    users = read_users(tmp_path)
    assert new != old and users is not None and find_user(users, new) is not None


def test_mistakes_are_one_line_and_exit_2(run_cli, tmp_path: Path):
    """A second alice, a revoke of nobody, a bad or reserved name: one line on stderr, code 2, file unchanged."""
    run_cli("users", "add", "alice", "--data-dir", tmp_path)
    before = users_path(tmp_path).read_text()
    for args, says in (
        (("add", "alice"), "user 'alice' exists"),
        (("revoke", "nobody"), "no user 'nobody'"),
        (("add", "Alice"), "user name 'Alice'"),
        (("add", "../x"), "user name '../x'"),
        (("add", "admin"), "'admin' is the API_KEY setting's own name"),
    ):
        result = run_cli("users", *args, "--data-dir", tmp_path)
        assert result.code == 2, args
        assert result.err.startswith("fetal-denoise: error: ") and says in result.err, result.err
        assert "Traceback" not in result.err
    assert users_path(tmp_path).read_text() == before


def test_list_without_a_users_file_says_keys_are_off(run_cli, tmp_path: Path):
    """No users file: `users list` says so instead of failing."""
    result = run_cli("users", "list", "--data-dir", tmp_path)
    assert result.code == 0 and "no users file" in result.out


def test_the_data_dir_comes_from_the_environment_like_the_service(run_cli, tmp_path: Path, monkeypatch):
    """Without --data-dir, DATA_DIR decides, as it does for the gateway: both read the same file."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    run_cli("users", "add", "alice")
    assert users_path(Path(Settings().DATA_DIR)) == users_path(tmp_path)
    assert users_path(tmp_path).is_file()
