"""`fetal-denoise users add|list|revoke`: the per-user API keys of the service (DATA_DIR/users.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="users",
    help="Per-user API keys of the service: add (prints the key once), list, revoke. Stored hashed in "
    "DATA_DIR/users.json; the service reads them on the next request, no restart needed.",
    no_args_is_help=True,
)

DataDirOption = Annotated[
    Path, typer.Option(envvar="DATA_DIR", help="The service's data directory (users.json lives here).")
]


@app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="The user's name: lower-case letters, digits, '_', '.', '-'.")],
    admin: Annotated[
        bool,
        typer.Option("--admin", metavar="", help="May see, delete and share every user's jobs and models."),
    ] = False,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Add a user and print their new key, once.

    Only the key's SHA-256 is kept: a lost key is revoked and made anew.

    The first user turns keys on for a service that had none: every request then needs a key."""
    from shared.users import add_user

    key = add_user(data_dir, name, admin=admin)
    typer.echo(key)
    role = "an admin" if admin else "a user"
    typer.echo(
        f"added {name} as {role}; the key above is shown only this once: give it to them (X-API-Key header)",
        err=True,
    )


@app.command("list")
def list_command(data_dir: DataDirOption = Path("data")) -> None:
    """List the users: name, role, when their key was made (never a key)."""
    from shared.users import read_users, users_path

    users = read_users(data_dir)
    if users is None:
        typer.echo(f"no users file ({users_path(data_dir)}): only API_KEY, if set, guards the service")
        return
    for user in sorted(users.users, key=lambda entry: entry.name):
        role = "admin" if user.admin else "user"
        typer.echo(f"{user.name}\t{role}\t{user.created:%Y-%m-%d %H:%M:%S} UTC")
    if not users.users:
        typer.echo("no users (every user key was revoked)", err=True)


@app.command("revoke")
def revoke_command(
    name: Annotated[str, typer.Argument(help="The user whose key stops working.")],
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Revoke a user's key: their next request is refused (401).

    Their jobs and models stay, owned by their name; an admin still sees them.

    Adding the same name again gives that person a new key to what they made."""
    from shared.users import revoke_user

    revoke_user(data_dir, name)
    typer.echo(f"revoked {name}")


def main() -> None:
    """`python -m cli.users ...`: the same commands where only this module is installed (the gateway's
    image), an error as one line and exit code 2, like `fetal-denoise`."""
    import sys

    from shared.errors import FetalDenoiseError

    try:
        app(prog_name="fetal-denoise users")
    except FetalDenoiseError as exc:
        typer.echo(f"fetal-denoise: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
