"""Replay from the event store: raw notification-log read-and-decode rate vs replay rate.

    .venv/bin/python benchmarks/replay.py --events 100000              # sqlite, then postgres
    .venv/bin/python benchmarks/replay.py --events 1000000 --store sqlite \
        --sqlite-path /tmp/replay-1m.db                                # keep the loaded store

For each store, in one run: loads ``--events`` seeded demo events (unless the store given
already holds them), then measures

* raw (after one untimed warm-up pass, so that both sides read a warm page cache): reading
  every fact of the notification log in pages and decoding it with the one
  decode function replay uses (``routing.audit.reading.FactReader``: the mapper's cipher
  and compressor steps, then the stored JSON), facts/s: the baseline;
* mapper: the same pages decoded into the library's event objects by
  ``application.mapper.to_domain_event`` (information);
* replay: ``projections.replay.replay`` of all projections (or ``--projections``) into a
  scratch read-model database, facts/s, and the ratio replay / raw (target >= 0.3);
* with ``--per-projection``, the replay rate and ratio of each projection alone;
* with ``--workers N`` (default 2), all projections replayed by N worker processes
  (``projections.parallel``, what ``routing replay`` does by default), wall-clock rate.

Figures on a shared 2-core machine are noisy (±20 % between runs): compare the ratio of one
run, not absolute rates across runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from projections import PROJECTIONS
from projections.db import PostgresReadModels, ReadModelDB, SQLiteReadModels
from projections.parallel import replay_parallel
from projections.replay import ReplayResult, replay
from routing.audit.reading import FactReader
from routing.cli import load_demo
from routing.config import Settings, StoreKind
from routing.episodes.service import CareEpisodes
from routing.operations.runtime import tune_gc
from routing.store import open_episodes

DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SEED, START, END = 2026, date(2025, 1, 1), date(2026, 1, 1)


def raw_rate(service: CareEpisodes) -> tuple[int, float]:
    reader = FactReader(service)
    started, n = time.perf_counter(), 0
    for page in reader.pages():
        n += len(page)
    return n, n / (time.perf_counter() - started)


def mapper_rate(service: CareEpisodes) -> float:
    recorder: Any = service.recorder
    started, n, after = time.perf_counter(), 0, 0
    last = recorder.max_notification_id() or 0
    while after < last:
        rows = recorder.select_notifications(
            after, 5000, stop=min(after + 20000, last), topics=CareEpisodes.FACT_TOPICS,
            inclusive_of_start=False,
        )  # fmt: skip
        if not rows:
            after = min(after + 20000, last)
            continue
        for row in rows:
            service.mapper.to_domain_event(row)
        n += len(rows)
        after = rows[-1].id
    return n / (time.perf_counter() - started)


def fact_count(service: CareEpisodes) -> int:
    return sum(len(p) for p in FactReader(service).pages())


def run(kind: StoreKind, args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="routing-replay-bench-"))
    schema = args.postgres_schema or f"bench_replay_{uuid.uuid4().hex[:8]}"
    scratch_schema = f"{schema}_scratch"
    if kind is StoreKind.sqlite:
        settings = Settings(store=kind, sqlite_path=args.sqlite_path or tmp / "store.db")
    else:
        settings = Settings(store=kind, postgres_dsn=args.postgres_dsn, postgres_schema=schema)  # type: ignore[arg-type]
    try:
        service = open_episodes(settings)
        have = fact_count(service)
        if have < args.events:
            t = time.perf_counter()
            loaded = load_demo(
                service, episodes=0, seed=SEED, start=START, end=END, events=args.events - have
            )
            print(f"[{kind}] loaded {loaded:,} events in {time.perf_counter() - t:,.0f} s")
        raw_rate(service)  # warm-up: the first pass reads the store from disk
        n, raw = raw_rate(service)
        mapper = mapper_rate(service)
        print(f"[{kind}] store holds {n:,} facts")
        print(f"[{kind}] raw read-and-decode (FactReader)   {raw:>10,.0f} facts/s")
        print(f"[{kind}] mapper.to_domain_event (info)      {mapper:>10,.0f} facts/s")
        names = args.projections or list(PROJECTIONS)
        groups = [names] + ([[p] for p in names] if args.per_projection else [])
        for group in groups:
            db = _scratch(kind, tmp, scratch_schema, args)
            try:
                projections = [PROJECTIONS[p](settings) for p in group]
                result = replay(service, db, projections)
            finally:
                db.close()
            label = "+".join(group) if len(group) < len(PROJECTIONS) else "all projections"
            _report(kind, label, result, raw)
        if args.workers > 1:
            par = settings.model_copy(
                update={"replay_sqlite_path": tmp / "parallel.db", "replay_schema": scratch_schema}
            )
            db, result = replay_parallel(par, names, workers=args.workers)
            db.close()
            _report(kind, f"all, {args.workers} worker processes", result, raw)
        service.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if kind is StoreKind.postgres:
            with psycopg.connect(args.postgres_dsn, autocommit=True) as conn:
                drop = [scratch_schema] + ([] if args.postgres_schema else [schema])
                for name in drop:
                    conn.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                    )


def _report(kind: StoreKind, label: str, result: ReplayResult, raw: float) -> None:
    print(
        f"[{kind}] replay {label:<44} {result.rate:>10,.0f} facts/s  ratio {result.rate / raw:.2f}"
        f"  ({result.facts:,} facts in {result.seconds:,.1f} s)"
    )


def _scratch(kind: StoreKind, tmp: Path, schema: str, args: argparse.Namespace) -> ReadModelDB:
    if kind is StoreKind.sqlite:
        path = tmp / f"scratch-{uuid.uuid4().hex[:6]}.db"
        return SQLiteReadModels(path, scratch=True)
    return PostgresReadModels(args.postgres_dsn, schema, scratch=True)


def main() -> None:
    tune_gc()  # as every ``routing`` command does (routing.operations.runtime)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--postgres-dsn", default=DSN)
    parser.add_argument("--sqlite-path", type=Path, help="Keep (and reuse) this store file.")
    parser.add_argument("--postgres-schema", help="Keep (and reuse) this store schema.")
    parser.add_argument("--projections", nargs="*", choices=list(PROJECTIONS))
    parser.add_argument("--per-projection", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=2, help="Also replay all with N processes (1: skip)."
    )
    args = parser.parse_args()
    kinds = (
        [StoreKind.sqlite, StoreKind.postgres] if args.store == "all" else [StoreKind(args.store)]
    )
    for kind in kinds:
        run(kind, args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
