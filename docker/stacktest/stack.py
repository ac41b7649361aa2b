"""The running compose project, through the `docker` and `docker-compose` commands a maintainer would type."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml


class StackError(RuntimeError):
    """The stack did not do what the test needs (a container unhealthy, a command failed)."""


@dataclass(frozen=True)
class Stack:
    """One compose project: its rendered compose file, its name, and the docker client to use."""

    compose_file: Path
    project: str
    docker: str = "docker"
    compose: str = "docker-compose"

    def compose_run(self, *args: str, timeout_s: float = 600.0) -> str:
        """Run `docker-compose -p PROJECT -f FILE ARGS...`; its stdout, or StackError with its stderr."""
        command = [self.compose, "-p", self.project, "-f", str(self.compose_file), *args]
        return _run(command, timeout_s)

    def docker_run(self, *args: str, timeout_s: float = 120.0) -> str:
        """Run `docker ARGS...`; its stdout, or StackError with its stderr."""
        return _run([self.docker, *args], timeout_s)

    def container(self, service: str) -> str:
        """The id of the service's one container."""
        ids = self.compose_run("ps", "-q", service).split()
        if len(ids) != 1:
            raise StackError(f"{service}: expected one container, found {len(ids)}")
        return ids[0]

    def services(self) -> list[str]:
        """The services `up` starts: every one in the compose file but those behind a profile."""
        config = yaml.safe_load(self.compose_file.read_text())
        return [name for name, service in config["services"].items() if not service.get("profiles")]

    def health(self) -> dict[str, str]:
        """Service -> health of its container: healthy, starting, unhealthy, or the state if not running."""
        states = {}
        for service in self.services():
            ids = self.compose_run("ps", "-q", service).split()
            if not ids:
                states[service] = "absent"
                continue
            state = json.loads(self.docker_run("inspect", "--format", "{{json .State}}", ids[0]))
            states[service] = state["Health"]["Status"] if state.get("Running") else state["Status"]
        return states

    def wait_healthy(self, timeout_s: float = 600.0) -> float:
        """Seconds until every service's container is healthy; StackError naming the laggards on timeout."""
        start = time.monotonic()
        while True:
            states = self.health()
            if states and all(state == "healthy" for state in states.values()):
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise StackError(f"not healthy after {timeout_s:.0f} s: {states}")
            time.sleep(1.0)

    def up(self) -> float:
        """`up -d` with the images already built; seconds from the command to every service healthy."""
        start = time.monotonic()
        self.compose_run("up", "-d", "--no-build")
        self.wait_healthy()
        return time.monotonic() - start

    def logs(self, tail: int = 40) -> str:
        """The last lines of every service's log (what a failed run prints)."""
        try:
            return self.compose_run("logs", "--no-color", "--tail", str(tail))
        except StackError as exc:
            return str(exc)


def _run(command: list[str], timeout_s: float) -> str:
    """Run `command`; stdout, or StackError with the command and its stderr."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"{' '.join(command)}: no answer in {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        raise StackError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout
