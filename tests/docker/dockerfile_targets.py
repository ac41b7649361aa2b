"""The repository's multi-target Dockerfile as BuildKit reads it: stages, what each target inherits, and
what it takes from the build context. Parsed by the `dockerfile` package (BuildKit's own Go parser)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import dockerfile

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Stage:
    """One FROM ... [AS name] section."""

    name: str
    base: str
    commands: tuple[dockerfile.Command, ...]


@cache
def stages() -> dict[str, Stage]:
    """Every stage of the Dockerfile by name (unnamed stages by their index), in file order."""
    found: dict[str, Stage] = {}
    current: list[dockerfile.Command] = []
    header: tuple[str, ...] | None = None

    def close() -> None:
        if header is not None:
            name = header[2] if len(header) == 3 and header[1].upper() == "AS" else str(len(found))
            found[name] = Stage(name=name, base=header[0], commands=tuple(current))

    for command in dockerfile.parse_file(str(DOCKERFILE)):
        if command.cmd == "FROM":
            close()
            header, current = command.value, []
        elif header is not None:
            current.append(command)
    close()
    return found


def chain(target: str) -> list[Stage]:
    """The stages an image of `target` is made of, from the one on an outside image down to `target`."""
    all_stages = stages()
    lineage = [all_stages[target]]
    while lineage[0].base in all_stages:
        lineage.insert(0, all_stages[lineage[0].base])
    return lineage


def final(target: str, instruction: str) -> dockerfile.Command | None:
    """The last `instruction` (USER, CMD, HEALTHCHECK, ...) an image of `target` inherits or sets."""
    found = None
    for stage in chain(target):
        for command in stage.commands:
            if command.cmd == instruction:
                found = command
    return found


def env(target: str) -> dict[str, str]:
    """The ENV of an image of `target` (values as written, `$VAR` not expanded)."""
    values: dict[str, str] = {}
    for stage in chain(target):
        for command in stage.commands:
            if command.cmd == "ENV":
                values.update(zip(command.value[::2], command.value[1::2], strict=True))
    return values


def needed_stages(target: str) -> list[Stage]:
    """Every stage BuildKit builds for `target`: its chain and, recursively, the stages it copies from."""
    needed: dict[str, Stage] = {}
    pending = [target]
    while pending:
        for stage in chain(pending.pop()):
            if stage.name in needed:
                continue
            needed[stage.name] = stage
            pending += [
                flag.split("=", 1)[1]
                for c in stage.commands
                for flag in c.flags
                if flag.startswith("--from=")
            ]
    return list(needed.values())


def context_sources(target: str) -> list[str]:
    """Paths an image of `target` takes from the build context: COPY/ADD sources and RUN bind mounts."""
    sources = []
    for stage in needed_stages(target):
        for command in stage.commands:
            if command.cmd in ("COPY", "ADD") and not any(f.startswith("--from=") for f in command.flags):
                sources += command.value[:-1]
            for flag in command.flags:
                mount = dict(
                    part.split("=", 1) for part in flag.removeprefix("--mount=").split(",") if "=" in part
                )
                if flag.startswith("--mount=") and mount.get("type") == "bind" and "from" not in mount:
                    sources.append(mount["source"])
    return sources


def exec_form(command: dockerfile.Command) -> list[str]:
    """The argument list of a CMD / HEALTHCHECK CMD, JSON or shell form."""
    if command.cmd == "HEALTHCHECK":
        return list(command.value[1:]) if command.json else shlex.split(command.value[-1])
    return list(command.value) if command.json else shlex.split(" ".join(command.value))


def arg_default(name: str) -> str | None:
    """The default of build argument `name` in the stage that declares it (None: no default)."""
    for stage in stages().values():
        for command in stage.commands:
            if command.cmd == "ARG" and command.value[0].split("=", 1)[0] == name:
                return command.value[0].split("=", 1)[1] if "=" in command.value[0] else None
    raise KeyError(name)
