# Over 300 lines because relay, projection and end-to-end share one broker, store and summary.
"""Kafka benchmark: relay and projection against raw aiokafka, and end-to-end lag.

    python benchmarks/kafka.py [--store sqlite|postgres|all] [--events N]

Everything runs against one bundled Tansu broker. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # import as the benchmarks package

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402

from benchmarks import figures, kafka_e2e  # noqa: E402
from benchmarks.loadgen import percentile  # noqa: E402
from benchmarks.stores import DEFAULT_DSN, Store  # noqa: E402
from projections.db import PostgresReadModels, ReadModelDB, SQLiteReadModels  # noqa: E402
from projections.episode_summary import EpisodeSummary  # noqa: E402
from projections.runner import ProjectionRunner  # noqa: E402
from routing.config import StoreKind  # noqa: E402
from routing.demo.generator import generate_episodes  # noqa: E402
from routing.episodes.events import parse_event  # noqa: E402
from routing.episodes.service import CareEpisodes  # noqa: E402
from routing.messaging.broker import TopicSpec, ensure_topics  # noqa: E402
from routing.messaging.envelope import CONTENT_TYPE, decode  # noqa: E402
from routing.messaging.relay import Relay  # noqa: E402
from routing.operations.runtime import tune_gc  # noqa: E402
from routing.store import open_episodes  # noqa: E402

try:  # before_after.py runs this script on older trees too, which kept it in broker.py
    from routing.messaging.bundled import BundledBroker
except ImportError:
    from routing.messaging.broker import BundledBroker  # type: ignore[attr-defined,no-redef]

RELAY_TARGET, PROJECTION_TARGET, LAG_TARGET_MS, TIMEOUT_S = 0.5, 0.3, 1000.0, 120.0
Message = tuple[bytes, bytes]  # key, CloudEvent bytes


@dataclass
class Row:
    store: str
    measure: str
    figure: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    verdict: str = ""


def load_store(service: CareEpisodes, events: int) -> int:
    """Records generated demo episodes (200 per transaction) until ``events`` are stored; on
    PostgreSQL the events table is then ANALYZEd."""
    end = date.today()
    episodes = generate_episodes(2026, 10 * events, start=end - timedelta(days=365), end=end)
    recorded = 0
    while recorded < events:
        batch = [parse_event(b) for ep in islice(episodes, 200) for b in ep]
        recorded += len(service.record_batch(batch))
    store: Any = service.recorder
    if hasattr(store.datastore, "schema"):  # PostgreSQL: ANALYZE now, as autovacuum soon would
        with store.datastore.transaction(commit=True) as cursor:  # (see README)
            cursor.execute(f'ANALYZE "{store.datastore.schema}".{store.events_table_name}')
    return recorded


def capture(service: CareEpisodes, bootstrap: str, topic: str, partitions: int) -> list[Message]:
    """The relay's own messages (keys and bytes), read through its ``_read_page``."""
    relay = Relay(service, bootstrap, topic, partitions=partitions)
    out: list[Message] = []
    while page := relay._read_page():
        out += [(m.key, m.value) for m in page]
        relay.progress = replace(relay.progress, position=page[-1].position)
    return out


async def time_relay(service: CareEpisodes, bootstrap: str, topic: str, partitions: int, n: int
                     ) -> tuple[float, float]:  # fmt: skip
    """Seconds from the relay's first page read to the page completing ``n``; and its start-up."""
    relay = Relay(service, bootstrap, topic, partitions=partitions)
    stop, marks = asyncio.Event(), {"run": time.perf_counter()}
    publish = relay._publish_page

    async def timed(producer: AIOKafkaProducer) -> int:
        marks.setdefault("first", time.perf_counter())
        sent = await publish(producer)
        if relay.published_total >= n:
            marks.setdefault("done", time.perf_counter())
            stop.set()
        return sent

    relay._publish_page = timed  # type: ignore[method-assign]
    await asyncio.wait_for(relay.run(stop), TIMEOUT_S)
    if relay.published_total != n:
        raise RuntimeError(f"relay published {relay.published_total} of {n}")
    return marks["done"] - marks["first"], marks["first"] - marks["run"]


async def time_raw_producer(relay: Relay, topic: str, messages: Sequence[Message]) -> float:
    """The same messages through a bare producer made by the relay's own ``_start_producer``
    (acks=all, its linger and batch size): one send each, every ack awaited at the end."""
    producer = await relay._start_producer()
    headers = [("content-type", CONTENT_TYPE.encode())]
    try:
        t0 = time.perf_counter()
        futures = [await producer.send(topic, key=k, value=v, headers=headers) for k, v in messages]
        await asyncio.gather(*futures)
        return time.perf_counter() - t0
    finally:
        await producer.stop()


async def time_raw_consumer(bootstrap: str, topic: str, partitions: int, n: int) -> float:
    """Assign, getmany, decode every message; from the first page returned to the n-th."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )  # fmt: skip
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        count, t0, deadline = 0, 0.0, time.monotonic() + TIMEOUT_S
        while count < n and time.monotonic() < deadline:
            pages = await consumer.getmany(timeout_ms=200, max_records=2000)
            if pages and not t0:
                t0 = time.perf_counter()
            for records in pages.values():
                for record in records:
                    decode(record.value or b"")
                count += len(records)
        if count != n:
            raise RuntimeError(f"raw consumer read {count} of {n}")
        return time.perf_counter() - t0
    finally:
        await consumer.stop()


async def time_projection(db: ReadModelDB, bootstrap: str, topic: str, n: int, group: str
                          ) -> tuple[float, float, float, ProjectionRunner]:  # fmt: skip
    """From the first page applied (group join excluded) until n messages are applied: wall
    seconds, the join's seconds, and the process's CPU seconds from the end of the first
    page's apply to the last page's, with the messages counted over that span. The runner's
    start-up (tables, consumer, group join), its first page (fetched before any mark) and its
    stop fall outside: a fixed cost that at 5,000 events would read as 2 us an event."""
    stop, consumed, marks = asyncio.Event(), [0], {"run": time.perf_counter()}
    cpu: dict[str, float] = {}

    def on_applied(count: int) -> None:
        consumed[0] += count
        if "from" not in cpu:  # the first page is applied: the CPU span starts here
            cpu["from"], cpu["after"] = time.process_time(), consumed[0]
        if consumed[0] >= n:
            marks.setdefault("done", time.perf_counter())
            cpu.setdefault("done", time.process_time())
            stop.set()

    runner = ProjectionRunner(
        db, EpisodeSummary(), bootstrap, topic, group_prefix=group, on_applied=on_applied
    )
    apply = runner.worker.apply

    def timed_apply(partition: int, records: list[Any]) -> Any:
        marks.setdefault("first", time.perf_counter())
        return apply(partition, records)

    runner.worker.apply = timed_apply  # type: ignore[method-assign]
    await asyncio.wait_for(runner.run(stop), TIMEOUT_S)
    run_s, join = marks["done"] - marks["first"], marks["first"] - marks["run"]
    per_event = (cpu["done"] - cpu["from"]) / max(1.0, consumed[0] - cpu["after"])
    return run_s, join, per_event, runner


def compared(store: str, measure: str, figure: float, base: float, target: float) -> Row:
    ratio = figure / base
    return Row(store, measure, f"{figure:,.0f} ev/s", f"{base:,.0f} msg/s raw", ratio,
               f">= {target}x raw", "PASS" if ratio >= target else "BELOW")  # fmt: skip


def relay_section(
    store: Store, bootstrap: str, parts: int, events: int, out: dict[str, float]
) -> tuple[Row, int]:
    service = open_episodes(store.settings("relay"))
    t = time.perf_counter()
    n = load_store(service, events)
    print(f"  loaded {n:,} events into a fresh store in {time.perf_counter() - t:.1f} s")
    topic = f"{store.tag}.events"
    specs = [TopicSpec(topic, parts), TopicSpec(topic + ".raw", parts)]
    asyncio.run(ensure_topics(bootstrap, specs))
    messages = capture(service, bootstrap, topic, parts)
    if len(messages) != n:
        raise RuntimeError(f"captured {len(messages)} messages for {n} stored events")
    size = sum(len(v) for _, v in messages) / n
    maker = Relay(service, bootstrap, topic + ".raw", partitions=parts)  # only makes producers
    raw = [n / asyncio.run(time_raw_producer(maker, topic + ".raw", messages)) for _ in "12"]
    cpu0 = time.process_time()  # the relay runs in this process
    relay_s, startup = asyncio.run(time_relay(service, bootstrap, topic, parts, n))
    out["relay_cpu_us_per_event"] = (time.process_time() - cpu0) / n * 1e6
    service.close()
    rate = out["relay_events_per_s"] = n / relay_s
    print(f"  raw producer: {max(raw):,.0f} msgs/s, best of {raw[0]:,.0f} / {raw[1]:,.0f} "
          f"({n:,} x {size:.0f} B, acks=all)")  # fmt: skip
    print(f"  relay: {rate:,.0f} events/s (clock from its first page read; start-up "
          f"{startup * 1000:.0f} ms excluded)")  # fmt: skip
    row = compared(store.kind.value, "relay publish (acks=all)", rate, max(raw), RELAY_TARGET)
    return row, n


def projection_section(
    store: Store, bootstrap: str, parts: int, n: int, dsn: str, out: dict[str, float]
) -> Row:
    topic, name = f"{store.tag}.events", store.kind.value
    raw = [n / asyncio.run(time_raw_consumer(bootstrap, topic, parts, n)) for _ in "12"]
    print(f"  raw consume+decode: {max(raw):,.0f} msgs/s, best of {raw[0]:,.0f} / {raw[1]:,.0f} "
          "(clock from the first page)")  # fmt: skip
    settings = store.settings("projection")
    db: ReadModelDB = (
        SQLiteReadModels(settings.sqlite_path) if store.kind is StoreKind.sqlite
        else PostgresReadModels(dsn, settings.postgres_schema)
    )  # fmt: skip
    try:
        cpu0 = time.process_time()  # the runner runs in this process
        proj_s, join, per_event, runner = asyncio.run(
            time_projection(db, bootstrap, topic, n, store.tag + "-")
        )
        out["projection_cpu_us_per_event"] = per_event * 1e6
        out["projection_outside_cpu_ms"] = (time.process_time() - cpu0 - per_event * n) * 1e3
        covered = sum(runner.worker.position(p) for p in range(parts))
    finally:
        db.close()
    if covered != n:
        raise RuntimeError(f"projection positions cover {covered} of {n} messages")
    rate = out["projection_events_per_s"] = n / proj_s
    print(f"  projection ({name} read model): {rate:,.0f} events/s, {runner.worker.applied:,} "
          f"applied; positions cover all {n:,}; clock from the first page applied (group join "
          f"{join:.1f} s excluded)")  # fmt: skip
    measure = f"episode-summary projection ({name})"
    return compared(name, measure, rate, max(raw), PROJECTION_TARGET)


def e2e_section(
    store: Store, bootstrap: str, args: argparse.Namespace, out: dict[str, float]
) -> Row:
    print(f"  end-to-end: {args.rate:g} events/s over HTTP for {args.seconds:g} s ...")
    lag = kafka_e2e.measure(
        store, bootstrap, f"{store.tag}.e2e", args.partitions, args.rate, args.seconds
    )
    pct, http = percentile, sorted(lag.http_ms)
    cpu = ", ".join(f"{k} {v / lag.seconds * 100:.0f}%" for k, v in lag.cpu.items())
    print(f"    {lag.events:,} events at {lag.rate:,.0f}/s (HTTP p50 {pct(http, 50):.0f} ms, p99 "
          f"{pct(http, 99):.0f} ms); {len(lag.accepted):,} contacts completed, {lag.missing} "
          f"never visible; lag p50 {lag.lag(50):.0f}, p95 {lag.lag(95):.0f}, p99 "
          f"{lag.lag(99):.0f}, max {lag.lag(100):.0f} ms (poll every "
          f"{kafka_e2e.POLL_S * 1000:.0f} ms); CPU of one core: {cpu}")  # fmt: skip
    if lag.rate < 0.95 * args.rate:
        print(f"    NOTE: only {lag.rate:,.0f} of {args.rate:g} events/s: the API did not keep up")
    p99 = lag.lag(99) if not lag.missing else float("inf")
    out["e2e_events_per_s"], out["e2e_lag_p99_ms"] = lag.rate, p99
    out["e2e_cpu_us_per_event"] = sum(lag.cpu.values()) / max(lag.events, 1) * 1e6
    ok = "PASS" if p99 < LAG_TARGET_MS else "BELOW"
    return Row(store.kind.value, f"e2e lag 201->projection @ {lag.rate:,.0f} ev/s",
               f"p50 {lag.lag(50):.0f} / p95 {lag.lag(95):.0f} / p99 {p99:.0f} ms", "", None,
               f"p99 < {LAG_TARGET_MS:.0f} ms", ok)  # fmt: skip


def bench_store(
    kind: StoreKind, args: argparse.Namespace, bootstrap: str, out: dict[str, float]
) -> list[Row]:
    """The rows of one store's summary; its figures for ``--json`` go into ``out``."""
    store = Store(kind, args.postgres_dsn)
    try:
        print(f"\n== {kind.value} ==")
        relay, n = relay_section(store, bootstrap, args.partitions, args.events, out)
        dsn = args.postgres_dsn
        projection = projection_section(store, bootstrap, args.partitions, n, dsn, out)
        return [relay, projection, e2e_section(store, bootstrap, args, out)]
    finally:
        store.cleanup()


def print_summary(rows: list[Row], n: int) -> None:
    print(f"\n=== SUMMARY ({n:,} events; Tansu broker, acks=all) ===")
    head = f"{'store':<9}{'measure':<40}{'figure':>30}{'baseline':>20}{'ratio':>7}  {'target':<16}"
    print(head + "verdict")
    print("-" * (len(head) + 7))
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        print(f"{r.store:<9}{r.measure:<40}{r.figure:>30}{r.baseline:>20}{ratio:>7}  "
              f"{r.target:<16}{r.verdict}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--store", choices=["sqlite", "postgres", "all"], default="all")
    p.add_argument("--events", type=int, default=30_000, help="relay/projection (default 30000)")
    p.add_argument("--rate", type=float, default=500.0, help="e2e HTTP events/s (default 500)")
    p.add_argument("--seconds", type=float, default=20.0, help="e2e load duration (default 20)")
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--postgres-dsn", default=DEFAULT_DSN)
    p.add_argument("--strict", action="store_true", help="exit 1 if any target is missed")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    # The relay and the runner measured here run in this process: tune its collector as the
    # `routing relay` and `routing projections run` processes do. Untuned, one full
    # collection of this process's heap (about 68 ms) fell inside the relay's clock.
    tune_gc()
    kinds = [StoreKind.sqlite, StoreKind.postgres] if args.store == "all" else [
        StoreKind(args.store)]  # fmt: skip
    broker = BundledBroker().start()
    rows: list[Row] = []
    out: dict[str, dict[str, float]] = {}
    t0 = time.monotonic()
    try:
        for kind in kinds:
            figures_of_store = out.setdefault(kind.value, {})
            rows += bench_store(kind, args, broker.bootstrap_servers, figures_of_store)
    finally:
        broker.stop()
    figures.write(args.json, {"events": args.events, "stores": out})
    print_summary(rows, args.events)
    print(f"(total run time {time.monotonic() - t0:.0f} s)")
    return 1 if args.strict and any(r.verdict == "BELOW" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
