"""CPU per unit of work of the API and of a projection runner's database side, in one process.

    .venv/bin/python benchmarks/in_process.py [--requests 4000] [--json PATH]

The HTTP benchmarks (ingest.py, decisions.py, kafka.py) measure a server driven by a client
over sockets; on the shared 2-core machine their CPU per request moved by 10-25 % from run to
run, more than issue 19's 10 % guard rail. This one calls the ASGI application itself
(``api.main:app``, a SQLite store of its own; the requests ``factory.py`` and ``decisions.py``
make, 16 at a time on one event loop) and the episode summary's ``ProjectionWorker`` (pages of
500 encoded facts, as a runner hands them over), and reports the process's CPU time per event,
per decision and per fact: no uvicorn, no client and no broker in the figure. It also counts
the Python function calls of one decision and one event (``sys.setprofile``): a figure that
does not move with the machine, so a change in what the code does shows as itself.

Runs on either tree of ``before_after.py`` (``PYTHONPATH`` chooses the code): the worker is
``projections.worker`` now, ``projections.runner`` before issue 19.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # import as the benchmarks package

from benchmarks import figures  # noqa: E402
from benchmarks.factory import EventFactory  # noqa: E402
from benchmarks.loadgen import AUTHORIZATION, bench_environ  # noqa: E402

CONCURRENCY = 16
PAGE = 500
Request = tuple[str, bytes]


def _scope(path: str, body: bytes) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"),
               (b"authorization", AUTHORIZATION.encode()),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}  # fmt: skip


async def _call(app: Any, path: str, body: bytes) -> int:
    sent: list[dict[str, Any]] = []
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.sleep(3600)  # the client stays: no disconnect
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(path, body), receive, send)
    return int(sent[0]["status"])


def _cpu_per_unit(app: Any, requests: list[Request], units: int) -> float:
    """CPU µs of the whole process (its worker threads too) per unit, 16 requests at once."""

    async def drive() -> None:
        async def lane(k: int) -> None:
            for path, body in requests[k::CONCURRENCY]:
                if (status := await _call(app, path, body)) not in (200, 201):
                    raise SystemExit(f"{path} answered {status}")

        await asyncio.gather(*(lane(k) for k in range(CONCURRENCY)))

    cpu = time.process_time()
    asyncio.run(drive())
    return (time.process_time() - cpu) / units * 1e6


def _calls(app: Any, request: Request) -> int:
    """Python function calls made while answering one request (the event loop's thread and
    the worker threads it hands work to)."""
    import threading

    count = [0]

    def counter(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            count[0] += 1

    sys.setprofile(counter)
    threading.setprofile(counter)
    try:
        asyncio.run(_call(app, *request))
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return count[0]


def _events(f: EventFactory, n: int) -> list[Request]:
    """``n`` events laid out so that lane k (requests k, k+16, ...) posts whole journeys in
    their order, as one connection of the HTTP benchmark does."""
    lanes = [f.stream() for _ in range(CONCURRENCY)]
    return [("/events", orjson.dumps(next(lanes[i % CONCURRENCY]))) for i in range(n)]


def _decisions(n: int) -> list[Request]:
    modes = ["chat", "video", "phone", "async_message", "physical"]
    homes = [("14", "1480"), ("01", "0180"), ("12", "1280"), ("06", "0680")]
    out = []
    for k in range(n):
        county, municipality = homes[k % len(homes)]
        body = {"request_id": str(uuid.uuid4()), "planned_start": "2025-11-03T10:00:00+01:00",
                "home_region": {"county": county, "municipality": municipality},
                "care_region": "04", "requested_mode": modes[k % len(modes)],
                "can_use_digital_tools": k % 7 != 0}  # fmt: skip
        out.append(("/routing/decisions", orjson.dumps(body)))
    return out


def measure_api(n: int) -> dict[str, float]:
    store = Path(tempfile.mkdtemp(prefix="routing-bench-inproc-")) / "store.db"
    os.environ.update(bench_environ({"ROUTING_STORE": "sqlite", "ROUTING_SQLITE_PATH": str(store)}))
    from api.main import app  # after the environment: it opens the store on import

    f = EventFactory()
    warm = _events(f, 300) + _decisions(300)
    _cpu_per_unit(app, warm, len(warm))
    batches = [("/events/batch", orjson.dumps({"events": f.batch(100)})) for _ in range(n // 100)]
    events = _events(f, n)
    out = {
        "event_cpu_us": _cpu_per_unit(app, events, len(events)),
        "batch_cpu_us_per_event": _cpu_per_unit(app, batches, len(batches) * 100),
        "decision_cpu_us": _cpu_per_unit(app, _decisions(n), n),
        "event_calls": float(_calls(app, _events(f, 1)[0])),
        "decision_calls": float(_calls(app, _decisions(1)[0])),
    }
    return out


@dataclass
class _Record:
    offset: int
    value: bytes
    key: bytes = b""
    headers: tuple[Any, ...] = ()


def measure_projection(n: int) -> float:
    """CPU µs per fact of the episode summary's database side, pages of 500 facts."""
    from projections.db import SQLiteReadModels
    from projections.episode_summary import EpisodeSummary
    from routing.messaging.envelope import encode

    try:
        module = importlib.import_module("projections.worker")
    except ImportError:  # before issue 19
        module = importlib.import_module("projections.runner")
    worker_class: Callable[..., Any] = module.ProjectionWorker
    values: list[bytes] = []
    f = EventFactory()
    while len(values) < n:
        for body in f.journey():
            fact = {**body, "schema_version": 1}
            position = len(values) + 1
            values.append(encode(fact, subject=fact["episode_id"], position=position,
                                 recorded_at="2025-10-06T09:00:00+00:00",
                                 episode_version=position, epoch=1))  # fmt: skip
    records = [_Record(i, v) for i, v in enumerate(values[:n])]
    db = SQLiteReadModels(Path(tempfile.mkdtemp(prefix="routing-bench-inproc-")) / "read.db")
    worker = worker_class(db, EpisodeSummary(), "events")
    cpu = time.process_time()
    for start in range(0, n, PAGE):
        worker.apply(0, records[start : start + PAGE])
    return (time.process_time() - cpu) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--requests", type=int, default=4000, help="per request kind (default 4000)")
    p.add_argument("--facts", type=int, default=40_000, help="for the projection (default 40000)")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    out = measure_api(args.requests)
    out["projection_cpu_us_per_fact"] = measure_projection(args.facts)
    for name, value in out.items():
        print(f"{name:<28}{value:>10.1f}")
    figures.write(args.json, {"stores": {"sqlite": out}})
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except BaseException:  # a status other than 200/201, or any failure: exit all the same
        traceback.print_exc()
        code = 1
    # The application's lifespan never ran, so nothing stops its store's non-daemon threads
    # (the WAL checkpointer, AnyIO's workers): leave without waiting for them.
    sys.stdout.flush()
    os._exit(code)
