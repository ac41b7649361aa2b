"""Slow clients against the stack's front while `/health` is timed: the gateway must keep answering.

    python docker/stacktest/slow_clients.py --url https://127.0.0.1:PORT --ca-file CA.pem \
        [--connections 2000] [--seconds 30]

Most connections trickle a request's headers, one header line every two seconds and never the blank line
that ends them (slowloris); the rest send complete headers of an upload and trickle its body, a few bytes
every two seconds. A connection the server closes is opened again, so about `--connections` are held all
along. Meanwhile a separate thread asks `/health` four times a second, each time on a new TLS connection, as
a newcomer would. Prints the figures; exit 1 when a `/health` answer was not 200 or took over a second.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import ssl
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

HEALTH_LIMIT_S = 1.0
BODY_SHARE = 0.2  # of the connections, trickled bodies; the others trickle headers


@dataclass
class Figures:
    """What the slow clients and the /health probe saw."""

    opened: int = 0
    open_now: int = 0
    peak_open: int = 0
    held: list[int] = field(default_factory=list)
    closed_by_server: int = 0
    connect_failures: int = 0
    slow_statuses: dict[int, int] = field(default_factory=dict)
    health_s: list[float] = field(default_factory=list)
    health_bad: list[str] = field(default_factory=list)

    def lines(self, target: int, seconds: float) -> list[str]:
        lat = sorted(self.health_s) or [float("nan")]
        held = sorted(self.held) or [0]
        slow_5xx = sum(n for status, n in self.slow_statuses.items() if status >= 500)
        return [
            f"slow clients: {target} wanted for {seconds:.0f} s; held at once: peak {self.peak_open}, "
            f"median {held[len(held) // 2]} of the samples (min {held[0]}); {self.opened} opened in all, "
            f"{self.closed_by_server} closed by the server, {self.connect_failures} connects failed",
            f"slow clients' answers by status: {dict(sorted(self.slow_statuses.items())) or 'none'} "
            f"({slow_5xx} 5xx, the per-address connection limit's 503)",
            f"/health meanwhile: {len(self.health_s)} asked, p50 {statistics.median(lat) * 1000:.0f} ms, "
            f"max {lat[-1] * 1000:.0f} ms, over {HEALTH_LIMIT_S:.0f} s: "
            f"{sum(1 for s in self.health_s if s > HEALTH_LIMIT_S)}, not 200: {len(self.health_bad)}"
            + (f" ({'; '.join(self.health_bad[:3])})" if self.health_bad else ""),
        ]

    @property
    def ok(self) -> bool:
        return bool(self.health_s) and not self.health_bad and max(self.health_s) <= HEALTH_LIMIT_S


def _record_answer(data: bytes, figures: Figures) -> None:
    if data.startswith(b"HTTP/1."):
        try:
            status = int(data.split(b" ", 2)[1])
        except (IndexError, ValueError):
            return
        figures.slow_statuses[status] = figures.slow_statuses.get(status, 0) + 1


async def _one_slow_client(
    host: str, port: int, context: ssl.SSLContext | None, trickle_body: bool, figures: Figures, stop: float
) -> None:
    """Hold one slow connection until `stop` (monotonic), opening a new one whenever the server closes it."""
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=context, server_hostname=host if context else None),
                15,
            )
        except (OSError, TimeoutError, ssl.SSLError):
            figures.connect_failures += 1
            await asyncio.sleep(1)
            continue
        figures.opened += 1
        figures.open_now += 1
        figures.peak_open = max(figures.peak_open, figures.open_now)
        try:
            if trickle_body:
                writer.write(
                    b"POST /denoise HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
                    b"Content-Type: multipart/form-data; boundary=slow\r\nContent-Length: 10000000\r\n\r\n"
                )
            else:
                writer.write(b"GET /health HTTP/1.1\r\nHost: " + host.encode() + b"\r\n")
            while time.monotonic() < stop:
                writer.write(b"--slow\r\n" if trickle_body else b"X-Slow: 1\r\n")
                await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(4096), 2.0)
                except TimeoutError:
                    continue
                _record_answer(data, figures)
                figures.closed_by_server += 1
                break
        except (OSError, ssl.SSLError):
            figures.closed_by_server += 1
        finally:
            figures.open_now -= 1
            writer.close()
        await asyncio.sleep(1)  # then again, as a patient attacker would


def _probe_health(url: str, context: ssl.SSLContext | bool, figures: Figures, stop: float) -> None:
    """GET /health four times a second, each on a new connection, until `stop`."""
    while time.monotonic() < stop:
        started = time.monotonic()
        try:
            response = httpx.get(f"{url}/health", verify=context, timeout=10)
            figures.health_s.append(time.monotonic() - started)
            if response.status_code != 200:
                figures.health_bad.append(f"{response.status_code} {response.text[:80]}")
        except httpx.HTTPError as error:
            figures.health_s.append(time.monotonic() - started)
            figures.health_bad.append(type(error).__name__)
        time.sleep(max(0.0, 0.25 - (time.monotonic() - started)))


async def _attack(
    url: str, context: ssl.SSLContext | None, connections: int, seconds: float, figures: Figures
) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
    stop = time.monotonic() + seconds
    tasks = []
    bodies = int(connections * BODY_SHARE)
    for i in range(connections):
        tasks.append(asyncio.create_task(_one_slow_client(host, port, context, i < bodies, figures, stop)))
        if i % 100 == 99:
            await asyncio.sleep(0.5)  # a ramp of 200 a second: the TLS handshakes are spread out
    ramp_end = time.monotonic() + 2
    while time.monotonic() < stop:
        await asyncio.sleep(0.5)
        if time.monotonic() > ramp_end:
            figures.held.append(figures.open_now)
    await asyncio.gather(*tasks)


def run(url: str, ca_file: str | None, connections: int = 2000, seconds: float = 30.0) -> Figures:
    """The attack and the probe; their figures."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + 256
    if soft < want:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (min(want, hard) if hard != resource.RLIM_INFINITY else want, hard)
        )
    context = ssl.create_default_context(cafile=ca_file) if url.startswith("https") else None
    figures = Figures()
    stop = time.monotonic() + seconds + 5  # the probe starts with the ramp and ends with the attack
    probe = threading.Thread(target=_probe_health, args=(url, context or False, figures, stop), daemon=True)
    probe.start()
    asyncio.run(_attack(url, context, connections, seconds + 5, figures))
    probe.join()
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the front, e.g. https://127.0.0.1:8443")
    parser.add_argument("--ca-file", help="the CA (or self-signed certificate) to verify an https front with")
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    figures = run(args.url, args.ca_file, args.connections, args.seconds)
    print("\n".join(figures.lines(args.connections, args.seconds)))
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
