"""The real API in a subprocess, and a lean load generator for it.

The client writes pre-serialised HTTP/1.1 requests on keep-alive connections with raw
asyncio streams (on uvloop) and parses only the status line and Content-Length of each
answer: on a 2-core machine every cycle the client spends is taken from the server.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import orjson

try:  # before_after.py runs these scripts on older trees too, which kept it in broker.py
    from routing.messaging.bundled import free_port
except ImportError:
    from routing.messaging.broker import free_port  # type: ignore[attr-defined,no-redef]

ROOT = Path(__file__).resolve().parent.parent
UVICORN = Path(sys.executable).with_name("uvicorn")

# Every request carries a bearer token, as in production. The server verifies it once and
# then finds it in its cache; the secret is generated per run (development-mode HS256).
BENCH_SECRET = secrets.token_urlsafe(48)
AUTH_ENV = {
    "ROUTING_AUTH_DEV_SECRET": BENCH_SECRET,
    "ROUTING_PSEUDONYM_KEY": secrets.token_urlsafe(48),
}
BENCH_TOKEN = jwt.encode(
    {
        "sub": "bench",
        "iss": "routing-dev",
        "aud": "routing",
        "exp": int(time.time()) + 24 * 3600,
        "roles": ["front_end", "routing_client", "finance", "auditor", "administrator"],
        "provider_id": "*",
        "care_region": "*",
        "region": "*",
    },
    BENCH_SECRET,
    algorithm="HS256",
)
AUTHORIZATION = f"Bearer {BENCH_TOKEN}"
_NO_DEV_KEYS = Path(tempfile.mkdtemp(prefix="routing-bench-keys-")) / "dev-keys.json"


def bench_environ(env: dict[str, str]) -> dict[str, str]:
    """The whole environment of a benchmark's process: the caller's, without any ROUTING_*
    setting of its own (a developer's cipher key, a store), with the benchmark's keys, and
    development keys from a directory of the benchmark's, never the checkout's ``var/`` (which
    ``routing dev`` fills with a cipher key the benchmark's store was not written with)."""
    inherited = {
        k: v for k, v in os.environ.items()
        if not k.startswith("ROUTING_") or k.startswith("ROUTING_BENCH_")
    }  # fmt: skip
    return {**inherited, **AUTH_ENV, "ROUTING_DEV_KEYS_PATH": str(_NO_DEV_KEYS), **env}


class Server:
    """``uvicorn api.main:app`` with one worker, configured through ROUTING_* variables."""

    def __init__(
        self, env: dict[str, str], log: Path, app: str = "api.main:app", root: Path = ROOT
    ) -> None:
        """``root``: the working directory, from which uvicorn imports ``app``."""
        self.port = free_port()
        self.log = log
        cmd = [
            str(UVICORN),
            app,
            "--workers",
            "1",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        prefix = os.environ.get("BENCH_SERVER_PREFIX", "").split()  # e.g. a profiler
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*prefix, *cmd],
                cwd=root,
                env=bench_environ(env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log.read_text()[-3000:]}")
            try:
                url = f"http://127.0.0.1:{self.port}/health"
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server not healthy after {timeout}s:\n{self.log.read_text()}")

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=orjson.dumps(body),
            headers={"content-type": "application/json", "authorization": AUTHORIZATION},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, orjson.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, orjson.loads(e.read() or b"null")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request_bytes(port: int, path: str, body: Any) -> bytes:
    payload = orjson.dumps(body)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: {AUTHORIZATION}\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    requests: int
    events: int
    latencies_ns: list[int] = field(default_factory=list)
    made_during_run: int = 0
    """Requests serialised while the clock ran because the pre-generated pool ran out."""

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    def percentile_ms(self, p: float) -> float:
        return percentile(sorted(self.latencies_ns), p) / 1e6


def percentile(ordered: list[float] | list[int], p: float) -> float:
    """The ``p``-th percentile (0-100) of sorted values, nearest rank; NaN when empty."""
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


class BadStatus(Exception):  # noqa: N818
    pass


# One unit of work: (pre-serialised request, number of events it carries).
Work = tuple[bytes, int]


async def _connection(port: int, work: Iterator[Work], deadline: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request, n_events in work:
            t0 = time.perf_counter_ns()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            body = await reader.readexactly(length)
            result.latencies_ns.append(time.perf_counter_ns() - t0)
            if status != b"201":
                raise BadStatus(f"HTTP {status.decode()}: {body[:500]!r}")
            result.requests += 1
            result.events += n_events
            if time.perf_counter() >= deadline:
                break
    finally:
        writer.close()


def run_load(
    port: int, streams: list[Iterator[Work]], seconds: float, made: Callable[[], int]
) -> LoadResult:
    """Drives one connection per stream until ``seconds`` pass; fails on any non-201."""
    try:
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    result = LoadResult(concurrency=len(streams), seconds=seconds, requests=0, events=0)

    async def main() -> None:
        before = made()
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(*(_connection(port, s, deadline, result) for s in streams))
        result.seconds = time.perf_counter() - start
        result.made_during_run = made() - before

    runner(main())
    return result
