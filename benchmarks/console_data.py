"""The console benchmark's data set: a national-scale demo store with one month closed
mid-way, and the read models the console reads, built fast enough for 1 M events.

Recording goes through ``CareEpisodes.record_batch`` in batches of whole episodes (the same
path as ``routing demo load``); the read models are built by ``projections.replay.replay``,
the same projection code the Kafka runners run, fed from the store in pages (about 6 000
facts/s here, where the relay-and-runner path managed about 500). A store already built (a
kept ``--keep`` directory or ``--pg-database``) is reused: only what is missing is built.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path

import psycopg
from psycopg import sql

from projections import PROJECTIONS, create_read_model_tables
from projections.base import Projection
from projections.db import ReadModelDB, SQLiteReadModels, open_read_models
from projections.replay import replay
from routing.config import Settings, StoreKind
from routing.demo.generator import generate_events
from routing.episodes.events import parse_event
from routing.episodes.service import CareEpisodes
from routing.liability.billing import MonthClosed
from routing.liability.months import close_month
from routing.reference.regions import load_regions
from routing.store import open_episodes

READ_MODELS = ("liability", "necessity", "care_guarantee", "indicators")
REGION = "01"  # Region Stockholm: the largest home region
SEED, BATCH, CLOSED_AT = 2026, 200, 0.9  # the month is closed after 90 % of the recording


def window(end: date) -> tuple[date, date, str]:
    """A year up to ``end``, and the month the benchmark closes and reads: the last whole
    month at least 30 days before ``end``, so its contacts are complete."""
    last = (end - timedelta(days=30)).replace(day=1) - timedelta(days=1)
    return end - timedelta(days=365), end, last.strftime("%Y-%m")


def record(settings: Settings, events: int, end: date) -> int:
    """Records ``events`` demo events, closing the month for every pair with Region
    Stockholm (both directions) after 90 % of them, so the rest arrive after the close as
    real late facts do; returns how many events were recorded."""
    service = open_episodes(settings)
    start, end, month = window(end)
    generated = generate_events(SEED, events, start=start, end=end)
    recorded, closed = 0, False
    while chunk := list(islice(generated, BATCH)):
        recorded += len(service.record_batch([parse_event(b) for ep in chunk for b in ep]))
        if not closed and recorded >= CLOSED_AT * events:
            close_pairs(service, month)
            closed = True
    service.close()
    return recorded


def close_pairs(service: CareEpisodes, month: str) -> None:
    """Closes ``month`` for Region Stockholm against every other region, both ways."""
    for other in sorted(set(load_regions().counties) - {REGION}):
        for home, care in ((REGION, other), (other, REGION)):
            close_month(service, MonthClosed(
                event_id=uuid.uuid4(), home_region=home, care_region=care, month=month,
                occurred_at=datetime.now(UTC), source="benchmark",
            ))  # fmt: skip


def project(settings: Settings, scratch: Path) -> float:
    """Replays the store into the console's read models; returns the facts per second.

    On PostgreSQL the projections fold into a scratch SQLite file (each fact a round trip
    less: 2.4 times the rate on this machine) and the tables are then copied in bulk into
    the PostgreSQL read models, created by the projections themselves (with their indexes)
    and analysed: the same rows a replay into PostgreSQL writes, built from its own store."""
    service = open_episodes(settings)
    projections = [PROJECTIONS[n](settings) for n in READ_MODELS]
    db = open_read_models(settings)
    into = db if settings.store is StoreKind.sqlite else SQLiteReadModels(scratch, scratch=True)
    try:
        result = replay(service, into, projections)
        if into is not db:
            into.close()
            copy_tables(scratch, db, settings, projections)
    finally:
        into.close()
        db.close()
        service.close()
        scratch.unlink(missing_ok=True)
    return result.rate


def copy_tables(
    source: Path, db: ReadModelDB, settings: Settings, projections: list[Projection]
) -> None:
    """Each projection's tables from the SQLite file ``source`` into PostgreSQL ``db``
    (COPY, streamed), then VACUUM ANALYZE, as autovacuum does after such a load (statistics
    for the planner; the visibility map that lets covering indexes answer alone)."""
    with db.transaction() as cur:
        for p in projections:
            p.drop(cur)
            p.create(cur)
    schema = sql.Identifier(settings.projections_schema)
    read = sqlite3.connect(source)
    with psycopg.connect(str(settings.postgres_dsn)) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(schema))
        for table in (t for p in projections for t in p.tables):
            name = sql.Identifier(table)
            with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(name)) as copy:
                for row in read.execute(f"SELECT * FROM {table}"):
                    copy.write_row(row)
        conn.commit()
        conn.autocommit = True  # VACUUM outside a transaction
        for table in (t for p in projections for t in p.tables):
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    read.close()


def count(settings: Settings, query: str) -> int:
    """One number from the read models (their tables made first: a fresh database)."""
    db = open_read_models(settings)
    try:
        with db.transaction() as cur:
            create_read_model_tables(cur)
            cur.execute(query)
            return int(cur.fetchone()[0])  # type: ignore[index]
    finally:
        db.close()


def build(settings: Settings, events: int, end: date, scratch: Path) -> int:
    """Builds what is missing; returns the store's rows (events and their receipts)."""
    service = open_episodes(settings)
    have = service.event_count()
    service.close()
    if have == 0:
        started = time.perf_counter()
        recorded = record(settings, events, end)
        print(f"  {recorded:,} events recorded in {time.perf_counter() - started:,.0f} s",
              flush=True)  # fmt: skip
        service = open_episodes(settings)
        have = service.event_count()
        service.close()
    if count(settings, "SELECT COUNT(*) FROM liability_invoice_lines") == 0:
        started = time.perf_counter()
        rate = project(settings, scratch)
        print(f"  read models replayed in {time.perf_counter() - started:,.0f} s"
              f" ({rate:,.0f} facts/s)", flush=True)  # fmt: skip
    started, db = time.perf_counter(), open_read_models(settings)
    with db.transaction() as cur:  # as a runner does at start: indexes added since the build
        for name in READ_MODELS:
            PROJECTIONS[name](settings).create(cur)
    db.close()
    print(f"  read models' tables and indexes made in {time.perf_counter() - started:,.1f} s")
    return have


def create_database(dsn: str, name: str) -> bool:
    """Creates database ``name`` beside ``dsn``'s unless it exists; True when created."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return found is None


def drop_database(dsn: str, name: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
