"""Ingest benchmark: library baseline vs. the real HTTP API, on SQLite and PostgreSQL.

    python benchmarks/ingest.py [--store sqlite|postgres|all] [--seconds N]

See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # import as the benchmarks package

from benchmarks import baseline, figures  # noqa: E402
from benchmarks.factory import SHAPES, EventFactory  # noqa: E402
from benchmarks.loadgen import LoadResult, Server, Work, request_bytes, run_load  # noqa: E402
from benchmarks.stores import DEFAULT_DSN, Store, server_cpu_seconds  # noqa: E402
from routing.config import StoreKind  # noqa: E402

APP = "api.main:app"
SINGLE_TARGET = 0.7  # HTTP single events/s over baseline saves/s
BATCH_TARGET = 5_000.0  # events/s through /events/batch into PostgreSQL


@dataclass
class Row:
    store: str
    measure: str
    figure: float
    unit: str
    ratio: float | None = None
    target: str = ""
    verdict: str = ""


class Supply:
    """Pre-serialised requests per connection; tops up on the fly (counted) if a run outlasts it."""

    def __init__(self, make: Callable[[EventFactory], Iterator[Work]]) -> None:
        self.make = make
        self.made_live = 0

    def streams(self, concurrency: int, prebuilt: int) -> list[Iterator[Work]]:
        out = []
        for _ in range(concurrency):
            source = self.make(EventFactory())
            ready = [next(source) for _ in range(max(1, min(prebuilt, 150_000) // concurrency))]
            out.append(self._chain(ready, source))
        return out

    def _chain(self, ready: list[Work], source: Iterator[Work]) -> Iterator[Work]:
        yield from ready
        ready.clear()
        for work in source:
            self.made_live += 1
            yield work


def single_supply(port: int) -> Supply:
    def make(f: EventFactory) -> Iterator[Work]:
        return ((request_bytes(port, "/events", e), 1) for e in f.stream())

    return Supply(make)


def batch_supply(port: int, size: int) -> Supply:
    def make(f: EventFactory) -> Iterator[Work]:
        while True:
            events = f.batch(size)
            yield request_bytes(port, "/events/batch", {"events": events}), len(events)

    return Supply(make)


def verify(server: Server) -> None:
    """Every body shape the load uses must be accepted before any clock starts."""
    f = EventFactory()
    for shape in SHAPES:
        for i, e in enumerate(f.journey(shape)):
            status, body = server.post("/events", e)
            if status != 201 or body["episode_version"] != i + 1:
                raise SystemExit(f"factory body refused ({status}): {e}\n-> {body}")
    events = f.batch(20)
    status, body = server.post("/events/batch", {"events": events})
    if status != 201 or len(body["results"]) != len(events):
        raise SystemExit(f"factory batch refused ({status}): {body}")


def sweep(
    server: Server,
    supply: Supply,
    levels: tuple[int, ...],
    seconds: float,
    sweep_s: float,
    per_request_rate: float,
) -> tuple[LoadResult, dict[int, float], float]:
    """Short runs at each concurrency; the best one is then measured for ``seconds``. Also
    returns the server's CPU seconds per event of that measurement."""
    trial: dict[int, float] = {}
    for c in levels:
        r = run_load(
            server.port,
            supply.streams(c, int(per_request_rate * sweep_s)),
            sweep_s,
            lambda: supply.made_live,
        )
        trial[c] = r.events_per_s
        print(f"    concurrency {c:>2}: {r.events_per_s:9,.0f} events/s (trial {sweep_s:.0f}s)")
    best = max(trial, key=lambda c: trial[c])
    streams = supply.streams(best, int(per_request_rate * seconds))
    cpu0 = server_cpu_seconds(server.proc.pid)
    client0 = time.process_time()
    result = run_load(server.port, streams, seconds, lambda: supply.made_live)
    server_cpu = server_cpu_seconds(server.proc.pid) - cpu0
    client_cpu = time.process_time() - client0
    print(
        f"    measured at {best}: {result.events_per_s:,.0f} events/s over "
        f"{result.requests:,} requests, p50 {result.percentile_ms(50):.2f} ms, "
        f"p99 {result.percentile_ms(99):.2f} ms; CPU per event: server "
        f"{server_cpu / result.events * 1e6:.0f} us, client "
        f"{client_cpu / result.events * 1e6:.0f} us; built during run: {result.made_during_run}"
    )
    return result, trial, server_cpu / result.events


def bench_store(
    kind: StoreKind,
    seconds: float,
    dsn: str,
    batch_size: int,
    app: str,
    out: dict[str, Any],
    levels: tuple[tuple[int, ...], tuple[int, ...]] = ((4, 8, 16), (1, 2, 4)),
) -> list[Row]:
    """The rows of one store's summary; its figures for ``--json`` go into ``out``. ``levels``:
    the concurrencies tried for single events and for batches (the best is measured)."""
    store = Store(kind, dsn)
    rows: list[Row] = []
    name = kind.value
    server: Server | None = None
    try:
        print(f"\n== {name} ==")
        base = baseline.measure(store.settings("baseline"), seconds)
        print(
            f"  baseline: {base.rate:,.0f} saves/s ({base.saves:,} saves, "
            f"{base.stored_bytes} bytes of state per stored event)"
        )
        pair = baseline.measure(store.settings("baseline2"), seconds / 2, with_receipt=True)
        print(f"  baseline fact+receipt: {pair.rate:,.0f} saves/s")
        rows.append(Row(name, "baseline app.save (1 event/save)", base.rate, "saves/s"))
        rows.append(
            Row(
                name,
                "baseline app.save (fact+receipt)",
                pair.rate,
                "saves/s",
                pair.rate / base.rate,
            )
        )

        server = Server(store.server_env("service"), store.log("server.log"), app)
        server.wait_healthy()
        verify(server)
        sweep_s = max(2.0, seconds / 4)
        print("  HTTP single POST /events:")
        single, _, single_cpu = sweep(
            server,
            single_supply(server.port),
            levels[0],
            seconds,
            sweep_s,
            per_request_rate=1.5 * base.rate,
        )
        ratio = single.events_per_s / base.rate
        rows.append(
            Row(
                name,
                f"HTTP single (c={single.concurrency}, p50 {single.percentile_ms(50):.1f} ms, "
                f"p99 {single.percentile_ms(99):.1f} ms)",
                single.events_per_s,
                "events/s",
                ratio,
                f">= {SINGLE_TARGET:.2f}x baseline",
                "PASS" if ratio >= SINGLE_TARGET else "BELOW",
            )
        )

        print(f"  HTTP batch POST /events/batch (~{batch_size} events each):")
        supply = batch_supply(server.port, batch_size)
        batch, _, batch_cpu = sweep(
            server, supply, levels[1], seconds, sweep_s, per_request_rate=8_000 / batch_size
        )
        out[name] = {
            "baseline_saves_per_s": base.rate,
            "single_events_per_s": single.events_per_s,
            "single_server_cpu_us_per_event": single_cpu * 1e6,
            "batch_events_per_s": batch.events_per_s,
            "batch_server_cpu_us_per_event": batch_cpu * 1e6,
        }
        is_pg = kind is StoreKind.postgres
        rows.append(
            Row(
                name,
                f"HTTP batch ({batch_size}/req, c={batch.concurrency}, "
                f"p50 {batch.percentile_ms(50):.0f} ms)",
                batch.events_per_s,
                "events/s",
                None,
                f">= {BATCH_TARGET:,.0f} events/s" if is_pg else "(info)",
                ("PASS" if batch.events_per_s >= BATCH_TARGET else "BELOW") if is_pg else "",
            )
        )
    finally:
        if server is not None:
            server.stop()
        store.cleanup()
    return rows


def print_summary(rows: list[Row], seconds: float, app: str) -> None:
    print(f"\n=== SUMMARY ({seconds:g} s per measurement, server: {app}) ===")
    header = f"{'store':<9}{'measure':<52}{'figure':>16}  {'ratio':>6}  {'target':<22}verdict"
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        figure = f"{r.figure:,.0f} {r.unit}"
        print(f"{r.store:<9}{r.measure:<52}{figure:>16}  {ratio:>6}  {r.target:<22}{r.verdict}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", choices=["sqlite", "postgres", "all"], default="all")
    p.add_argument("--seconds", type=float, default=10.0, help="per measurement (default 10)")
    p.add_argument("--postgres-dsn", default=DEFAULT_DSN)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument(
        "--app",
        default=APP,
        help="ASGI app to serve (what-if: benchmarks.variants:app with ROUTING_BENCH_VARIANTS)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 if any target is missed")
    p.add_argument(
        "--concurrency",
        type=int,
        nargs=2,
        metavar=("SINGLE", "BATCH"),
        help="measure at these concurrencies instead of the best of 4/8/16 and 1/2/4 (CPU per "
        "event depends on it: a wave of requests shares a commit)",
    )
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    kinds = (
        [StoreKind.sqlite, StoreKind.postgres] if args.store == "all" else [StoreKind(args.store)]
    )
    rows: list[Row] = []
    out: dict[str, Any] = {}
    levels: tuple[tuple[int, ...], tuple[int, ...]] = ((4, 8, 16), (1, 2, 4))
    if args.concurrency:
        levels = ((args.concurrency[0],), (args.concurrency[1],))
    for kind in kinds:
        rows += bench_store(
            kind, args.seconds, args.postgres_dsn, args.batch_size, args.app, out, levels
        )
    figures.write(args.json, {"seconds": args.seconds, "stores": out})
    variants = os.environ.get("ROUTING_BENCH_VARIANTS", "") if args.app != APP else ""
    print_summary(rows, args.seconds, args.app + (f" [{variants}]" if variants else ""))
    return 1 if args.strict and any(r.verdict == "BELOW" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
