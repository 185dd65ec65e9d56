"""Cost of the request-observing layer (latency histogram + correlation id), in-process.

    python benchmarks/observe.py [--requests 50000]

Drives the real app's route for ``GET /live`` through the ASGI interface directly (no socket,
no client), with and without ``api.observe.Observe`` around it, alternating rounds in the
same run; prints microseconds per request and the throughput ratio. Network-free, so far less
noisy than the HTTP benchmarks on a shared machine; it bounds what the layer can cost them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.app import create_app
from api.observe import Observe
from routing.config import Settings, StoreKind


async def drive(app: Any, n: int, headers: list[tuple[bytes, bytes]]) -> float:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/live", "raw_path": b"/live", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    start = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(store=StoreKind.memory, _env_file=None)  # type: ignore[call-arg]
    observed = create_app(settings)
    # The same FastAPI app without the Observe layer: its user middleware minus Observe.
    unobserved = create_app(settings)
    unobserved.user_middleware = [m for m in unobserved.user_middleware if m.cls is not Observe]
    headers = [(b"host", b"bench"), (b"x-request-id", b"bench-request-0001")]

    async def run() -> None:
        times: dict[str, float] = {"without Observe": 0.0, "with Observe": 0.0}
        for app in (observed, unobserved):  # warm up: build stacks, fill caches
            await drive(app, 2000, headers)
        for _ in range(args.rounds):
            times["without Observe"] += await drive(unobserved, args.requests, headers)
            times["with Observe"] += await drive(observed, args.requests, headers)
        total = args.requests * args.rounds
        print(f"{'app':<18}{'req/s':>12}{'us/req':>10}")
        for name, seconds in times.items():
            print(f"{name:<18}{total / seconds:>12,.0f}{seconds / total * 1e6:>10.1f}")
        ratio = times["without Observe"] / times["with Observe"]
        extra = (times["with Observe"] - times["without Observe"]) / total * 1e6
        print(f"throughput ratio with/without: {ratio:.3f} ({extra:.1f} us per request)")

    asyncio.run(run())


if __name__ == "__main__":
    main()
