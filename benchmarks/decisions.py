"""Routing-decision endpoint benchmark: one uvicorn worker, 32 concurrent connections.

    python benchmarks/decisions.py [--seconds 10] [--connections 32]

Measures, in the same run and with the same client: POST /routing/decisions on the real API
(SQLite store, each decision recorded for audit), and POST /bare on a FastAPI app that returns
a constant. Targets: p99 < 25 ms, and throughput >= 0.6 of the bare endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.loadgen import Server, request_bytes


def questions(port: int) -> Iterator[bytes]:
    modes = ["chat", "video", "phone", "async_message", "physical"]
    homes = [("14", "1480"), ("01", "0180"), ("12", "1280"), ("06", "0680")]
    n = 0
    while True:
        county, municipality = homes[n % len(homes)]
        body = {
            "request_id": str(uuid.uuid4()),
            "planned_start": "2025-11-03T10:00:00+01:00",
            "home_region": {"county": county, "municipality": municipality},
            "care_region": "04",
            "requested_mode": modes[n % len(modes)],
            "can_use_digital_tools": n % 7 != 0,
        }
        yield request_bytes(port, "/routing/decisions", body)
        n += 1


async def _drive(
    port: int, make: Iterator[bytes], seconds: float, conns: int, path_unique: bool
) -> list[int]:
    latencies: list[int] = []
    pool = [next(make) for _ in range(int(seconds * 12000))]  # serialised before the clock
    it = iter(pool) if path_unique else itertools.cycle(pool)
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                request = next(it)
                t0 = time.perf_counter_ns()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(x[15:]) for x in head.split(b"\r\n") if x[:15].lower() == b"content-length:"
                )
                body = await reader.readexactly(length)
                if head[9:12] != b"200":
                    raise RuntimeError(f"HTTP {head[9:12]!r}: {body[:300]!r}")
                latencies.append(time.perf_counter_ns() - t0)
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(conns)))
    return latencies


def measure(server: Server, path: str, seconds: float, conns: int) -> tuple[float, float, float]:
    make = (
        questions(server.port)
        if path == "decisions"
        else iter(lambda: request_bytes(server.port, "/bare", {"x": 1}), None)
    )
    started = time.perf_counter()
    latencies = asyncio.run(_drive(server.port, make, seconds, conns, path == "decisions"))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6  # noqa: E731
    return len(latencies) / elapsed, p(0.50), p(0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"ROUTING_STORE": "sqlite", "ROUTING_SQLITE_PATH": f"{tmp}/store.db",
               "ROUTING_PROJECTIONS_SQLITE_PATH": f"{tmp}/p.db"}  # fmt: skip
        rows = []
        for name, app, path in (
            ("plain ASGI constant", "benchmarks.plain_asgi:app", "bare"),
            ("bare FastAPI constant", "benchmarks.bare_app:app", "bare"),
            ("POST /routing/decisions", "api.main:app", "decisions"),
        ):
            server = Server(env, Path(tmp) / f"{path}.log", app=app)
            try:
                server.wait_healthy()
                measure(server, path, 2, args.connections)  # warm-up
                rows.append((name, *measure(server, path, args.seconds, args.connections)))
            finally:
                server.stop()
    _, (_, bare, _, _), (_, rate, _, p99) = rows
    print(f"\n{'endpoint':<26}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r, a, b in rows:
        print(f"{name:<26}{r:>10,.0f}{a:>9.1f}{b:>9.1f}")
    print(
        f"\nratio decisions/bare: {rate / bare:.2f} (target >= 0.6: "
        f"{'PASS' if rate / bare >= 0.6 else 'BELOW'}); p99 {p99:.1f} ms (target < 25: "
        f"{'PASS' if p99 < 25 else 'BELOW'}); {args.connections} connections, one worker"
    )


if __name__ == "__main__":
    main()
