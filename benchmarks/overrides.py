"""Each kept override of the eventsourcing library's internals against the library path it
replaces, in one process, alternating rounds (issue 19: an override stays only with its
measured gain quoted beside it).

    python benchmarks/overrides.py [--journeys 600] [--rounds 7]

* ``Relay._message``: the stored JSON read as is, against the library's mapper building the
  event object (``_plain_json`` off);
* ``FactReader.decode``: the same for audit's reader (replay, simulation, raw read rate);
* ``CareEpisode.__deepcopy__``: the repository's copy of a cached episode, against a deep
  copy of the aggregate's attributes;
* ``CareEpisodes._save``: ``ProcessingEvent`` filled directly, against its ``collect_events``
  (the rest of the save is the same on both sides, so only the fill is timed);
* ``stored_decision`` (decisions/record.py): a decision's stored bytes written directly,
  against the library's aggregate, ``model_dump`` of both models and the mapper (the answer's
  JSON, sent to the client, is made on both sides); ``advise`` alone for scale;
* two overrides measured and removed, kept here to measure again: SQLite's insert as one
  ``executemany`` against the library's execute a row, and PostgreSQL's new ids read as
  tuples against the library's dict rows (a whole ``insert_events`` of a batch of 1, 10, 100
  events; PostgreSQL with ``--postgres DSN``, in two scratch schemas ``over_bench_*`` dropped
  afterwards).

An in-memory store without a cipher (the relay's fast path is taken only then). Figures are
medians of the rounds, in microseconds per item; the store inserts in CPU time of this
process (``time.process_time``: a commit's wait on the disk or the server is not the
override's), each round a fresh batch per side.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # import as the benchmarks package

import orjson  # noqa: E402
import psycopg  # noqa: E402
from eventsourcing.application import ProcessingEvent  # noqa: E402
from eventsourcing.persistence import StoredEvent, Tracking  # noqa: E402
from eventsourcing.sqlite import SQLiteAggregateRecorder  # noqa: E402
from psycopg.rows import dict_row, tuple_row  # noqa: E402

from benchmarks.factory import EventFactory  # noqa: E402
from routing.audit.reading import FactReader  # noqa: E402
from routing.config import Settings, StoreKind  # noqa: E402
from routing.decisions.advise import advise  # noqa: E402
from routing.decisions.cache import DecisionCache  # noqa: E402
from routing.decisions.question import RoutingQuestion  # noqa: E402
from routing.decisions.record import (  # noqa: E402
    RoutingDecisionRecord,
    answer_json,
    decision_id,
    fingerprint,
    question_json,
    stored_decision,
)
from routing.episodes.events import parse_event  # noqa: E402
from routing.episodes.service import CareEpisodes  # noqa: E402
from routing.messaging.relay import Relay  # noqa: E402
from routing.persistence.pgrecorder import BinaryInsertProcessRecorder  # noqa: E402
from routing.persistence.recorders import ChainedSQLiteProcessRecorder  # noqa: E402
from routing.reference import load_reference_data  # noqa: E402
from routing.reference.regions import load_regions  # noqa: E402
from routing.store import FACT_TOPICS, open_episodes  # noqa: E402


def _per_item(fn: Callable[[], None], items: int, clock: Callable[[], float]) -> float:
    start = clock()
    fn()
    return (clock() - start) / items * 1e6


def compare(
    name: str,
    ours: Callable[[], None],
    library: Callable[[], None],
    items: int,
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> None:
    mine, theirs = [], []
    for i in range(rounds):  # alternate which goes first
        pair = [(mine, ours), (theirs, library)]
        for out, fn in pair if i % 2 == 0 else reversed(pair):
            out.append(_per_item(fn, items, clock))
    report(name, mine, theirs)


def report(name: str, mine: list[float], theirs: list[float]) -> None:
    """Medians, and the quartiles of each side: a gain inside the spread is noise."""
    a, b = statistics.median(mine), statistics.median(theirs)
    qa, qb = statistics.quantiles(mine, n=4), statistics.quantiles(theirs, n=4)
    print(
        f"{name:32} override {a:8.1f} us   library {b:8.1f} us   {(1 - a / b) * 100:4.0f} % less"
        f"   (quartiles {qa[0]:.1f}..{qa[2]:.1f} / {qb[0]:.1f}..{qb[2]:.1f})"
    )


class _ExecutemanySQLite(ChainedSQLiteProcessRecorder):
    """The removed override: one ``executemany``, rowids from ``last_insert_rowid()``."""

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        SQLiteAggregateRecorder._insert_events(self, c, stored_events)
        c.execute("SELECT last_insert_rowid()")
        last = int(c.fetchone()[0])
        ids = list(range(last - len(stored_events) + 1, last + 1))
        tracking: Tracking | None = kwargs.get("tracking")
        if tracking is not None:
            self._insert_tracking(c, tracking)
        self._append_links(c, list(zip(ids, stored_events, strict=True)))
        return ids


class _TupleRowsPostgres(BinaryInsertProcessRecorder):
    """The removed override: the new ids read as tuples rather than dict rows."""

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        curs.row_factory = tuple_row
        try:
            ids = [int(row[0]) for row in curs.fetchall()]
        finally:
            curs.row_factory = dict_row
        if ids:
            self._append_links(curs, list(zip(ids, stored_events, strict=True)))
        return ids


def _batches(notes: Sequence[Any], size: int) -> Iterator[list[StoredEvent]]:
    """Stored facts of the journeys again, under new aggregate ids (so each is new)."""
    n = 0
    while True:
        picked = [notes[(n + i) % len(notes)] for i in range(size)]
        yield [StoredEvent(uuid4(), 1, p.topic, p.state) for p in picked]
        n += size


def compare_inserts(
    name: str, open_store: Callable[[str], CareEpisodes], override: type, notes: Sequence[Any],
    size: int, rounds: int, reps: int = 40,
) -> None:  # fmt: skip
    """A whole ``insert_events`` of a batch, a removed override against the recorder as kept
    (the library's path): the figure that removed it, to measure again."""
    ours, theirs = open_store("a"), open_store("b")
    ours.recorder.__class__ = override
    try:
        source = _batches(notes, size)

        def inserting(store: CareEpisodes) -> Callable[[], None]:
            def run() -> None:
                batches = [next(source) for _ in range(reps)]
                start = time.process_time()
                for b in batches:
                    store.recorder.insert_events(b)
                run.cpu = time.process_time() - start  # type: ignore[attr-defined]

            return run

        # the batches are made outside the clock: the callable times itself
        mine, lib = inserting(ours), inserting(theirs)
        for fn in (mine, lib):  # warm up both tables
            fn()
        timed_compare(name, mine, lib, reps, rounds)
    finally:
        ours.close()
        theirs.close()


def timed_compare(
    name: str, ours: Callable[[], None], library: Callable[[], None], items: int, rounds: int
) -> None:
    """``compare`` for callables that time themselves (``.cpu``, seconds)."""
    mine: list[float] = []
    theirs: list[float] = []
    for i in range(rounds):  # alternate which goes first
        pair = [(mine, ours), (theirs, library)]
        for out, fn in pair if i % 2 == 0 else reversed(pair):
            fn()
            out.append(fn.cpu / items * 1e6)  # type: ignore[attr-defined]
    report(name, mine, theirs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journeys", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", choices=["relay", "decisions", "stores"], default=None)
    parser.add_argument("--batches", default="1,10,100", help="events per stored batch")
    parser.add_argument("--postgres", default="", help="DSN: also the PostgreSQL recorder")
    args = parser.parse_args()
    service = open_episodes(Settings(store=StoreKind.memory, _env_file=None))  # type: ignore[call-arg]
    factory = EventFactory()
    for _ in range(args.journeys):
        service.record_batch([parse_event(b) for b in factory.journey()])
    notes = service.recorder.select_notifications(start=0, limit=10**7, topics=FACT_TOPICS)
    relay, reader = Relay(service, "127.0.0.1:1", "bench"), FactReader(service)
    mapper = service.mapper

    def relay_with(plain: bool) -> Callable[[], None]:
        def run() -> None:
            relay._plain_json = plain
            for n in notes:
                relay._message(n)

        return run

    def decode() -> None:
        for n in notes:
            reader.decode(n)

    def to_domain_event() -> None:
        for n in notes:
            mapper.to_domain_event(n)

    episode = service.repository.get(notes[-1].originator_id)
    copies = 2000

    def own_copy() -> None:
        for _ in range(copies):
            copy.deepcopy(episode)

    def attribute_copy() -> None:
        for _ in range(copies):
            clone = object.__new__(type(episode))
            clone.__dict__.update(copy.deepcopy(episode.__dict__))

    # a typical batch: one episode and a receipt a fact (the receipts of the first journey)
    stored = service.recorder.select_notifications(start=0, limit=40)
    events = [mapper.to_domain_event(n) for n in stored if n.topic not in FACT_TOPICS]
    fills = 2000

    def direct_fill() -> None:
        for _ in range(fills):
            p = ProcessingEvent[UUID](None)
            p.events.extend(episode.collect_events())
            p.aggregates[episode.id] = episode
            p.events.extend(events)

    def collect_events() -> None:
        for _ in range(fills):
            ProcessingEvent[UUID](None).collect_events(episode, *events)

    print(f"{len(notes)} facts, {args.rounds} rounds")
    if args.only in (None, "decisions"):
        decisions(args.rounds)
    if args.only in (None, "stores"):
        sizes = [int(n) for n in args.batches.split(",")]
        stores(notes, sizes, args.rounds, args.postgres)
    if args.only not in (None, "relay"):
        return
    compare("Relay._message", relay_with(True), relay_with(False), len(notes), args.rounds)
    compare("FactReader.decode", decode, to_domain_event, len(notes), args.rounds)
    compare("CareEpisode.__deepcopy__", own_copy, attribute_copy, copies, args.rounds)
    compare("CareEpisodes._save (fill)", direct_fill, collect_events, fills, args.rounds)


def decisions(rounds: int) -> None:
    """A decision's stored form: ours against the library's aggregate and mapper."""
    policy = Settings(_env_file=None).rulebook_policy()  # type: ignore[call-arg]
    reference, regions = load_reference_data(), load_regions()
    app = open_episodes(Settings(store=StoreKind.memory, _env_file=None))  # type: ignore[call-arg]
    q = RoutingQuestion.model_validate(
        {
            "request_id": str(uuid4()),
            "planned_start": "2025-11-03T10:00:00+01:00",
            "home_region": {"county": "01", "municipality": "0180"},
            "requested_mode": "video",
            "care_region": "04",
            "episode_id": str(uuid4()),
        }
    )
    a = advise(q, policy, reference, regions)
    times, now = 2000, datetime.now(UTC)

    def ours() -> None:
        for _ in range(times):
            stored_decision(app.mapper, q, answer_json(a), now)

    def library() -> None:
        for _ in range(times):
            answer_json(a)
            record = RoutingDecisionRecord._create(
                RoutingDecisionRecord.Recorded,
                id=decision_id(q.request_id),
                question=q.model_dump(mode="json"),
                answer=a.model_dump(mode="json"),
                fingerprint=fingerprint(question_json(q)),
            )
            (event,) = record.collect_events()
            app.mapper.to_stored_event(event)

    def deciding() -> None:
        for _ in range(times):
            advise(q, policy, reference, regions)

    cache = DecisionCache(1024)

    def cached() -> None:
        for _ in range(times):
            cache.given(q, policy, reference, regions)

    compare("stored_decision", ours, library, times, rounds)
    scale = [statistics.median(_per_item(f, times, time.perf_counter) for _ in range(rounds))
             for f in (deciding, cached)]  # fmt: skip
    print(f"{'  for scale: advise, cache hit':32} {scale[0]:8.1f} us, {scale[1]:.1f} us")
    assert orjson.loads(stored_decision(app.mapper, q, answer_json(a), now).state)
    app.close()


def stores(notes: Sequence[Any], sizes: list[int], rounds: int, dsn: str) -> None:
    """The recorders' inserts, SQLite (and PostgreSQL with a DSN), CPU time of a batch."""
    with tempfile.TemporaryDirectory(prefix="over_bench_") as tmp:

        def sqlite(side: str) -> CareEpisodes:
            settings = Settings(store=StoreKind.sqlite, sqlite_path=Path(tmp) / f"{side}.db",
                                _env_file=None)  # type: ignore[call-arg]  # fmt: skip
            return open_episodes(settings)

        for size in sizes:
            name = f"SQLite _insert_events ({size})"
            compare_inserts(name, sqlite, _ExecutemanySQLite, notes, size, rounds)
    if not dsn:
        return
    schemas = {side: f"over_bench_{side}" for side in ("a", "b")}

    def postgres(side: str) -> CareEpisodes:
        settings = Settings(store=StoreKind.postgres, postgres_dsn=dsn,  # type: ignore[arg-type]
                            postgres_schema=schemas[side], _env_file=None)  # type: ignore[call-arg]  # fmt: skip
        return open_episodes(settings)

    try:
        for size in sizes:
            name = f"Postgres _fetch_ids ({size})"
            compare_inserts(name, postgres, _TupleRowsPostgres, notes, size, rounds)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for schema in schemas.values():
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
