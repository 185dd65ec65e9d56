"""Rebuilds read models from the event store itself, not from Kafka, into scratch tables.

For audit: the store is the record, so a read model must be reproducible from it alone. The
facts are read from the notification log (``routing.audit.reading``), turned into the very
CloudEvents the relay would publish and the runner would decode, and folded by the same
``Projection`` objects the runners use, into a scratch database (a SQLite file) or schema
(PostgreSQL). The live read models are never written.

Each page of the log is one transaction that also records how far the replay got
(``replay_positions``): a replay is always from the start (its tables are emptied first), and
the recorded position says which store position a finished one reflects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import sqlalchemy as sa

from projections import tables
from projections.base import Projection
from projections.db import Cursor, PostgresReadModels, ReadModelDB, SQLiteReadModels
from routing.audit.reading import FactReader, StoredFact
from routing.config import Settings, StoreKind
from routing.episodes.service import CareEpisodes
from routing.messaging.envelope import CloudEvent
from routing.operations.resilience import persevering

Progress = Callable[[int, int], None]
"""(store position reached, last store position)."""


@dataclass(frozen=True)
class ReplayResult:
    projections: tuple[str, ...]
    facts: int
    applied: int
    position: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.facts / self.seconds if self.seconds else 0.0


def open_scratch(settings: Settings) -> ReadModelDB:
    """The replay's own database: never the live read models."""
    if settings.store is StoreKind.postgres:
        if settings.replay_schema == settings.projections_schema:
            raise ValueError("ROUTING_REPLAY_SCHEMA must differ from ROUTING_PROJECTIONS_SCHEMA")
        assert settings.postgres_dsn is not None
        return PostgresReadModels(str(settings.postgres_dsn), settings.replay_schema, scratch=True)
    if settings.store is StoreKind.memory:
        return SQLiteReadModels(Path(":memory:"), scratch=True)
    if settings.replay_sqlite_path.resolve() == settings.projections_sqlite_path.resolve():
        raise ValueError("ROUTING_REPLAY_SQLITE_PATH must differ from the live read models")
    return SQLiteReadModels(settings.replay_sqlite_path, scratch=True)


def _apply_page(
    cur: Cursor,
    batch: Sequence[StoredFact],
    targets_of: dict[str, list[Projection]],
    projections: Sequence[Projection],
) -> int:
    """Decodes each interesting fact of the page once and hands every projection its share
    of the page at once (``Projection.apply_page``); returns the facts applied."""
    shares: dict[str, list[CloudEvent]] = {p.name: [] for p in projections}
    applied = 0
    for stored in batch:
        targets = targets_of.get(stored.type)
        if targets:
            event = stored.cloud_event()
            for p in targets:
                shares[p.name].append(event)
            applied += 1
    for p in projections:
        if shares[p.name]:
            p.apply_page(cur, shares[p.name])
    return applied


POSITIONS = tables.table("replay_positions")


def replayed_position(db: ReadModelDB, name: str) -> int | None:
    with db.transaction() as cur:
        cur.create(POSITIONS)
        t = POSITIONS
        cur.execute(sa.select(t.c.store_position).where(t.c.projection == name))
        row = cur.fetchone()
        return int(row[0]) if row else None


@persevering("replay")  # a store restart starts it over: it empties its tables first
def replay(
    service: CareEpisodes,
    db: ReadModelDB,
    projections: Sequence[Projection],
    *,
    progress: Progress = lambda done, total: None,
    page: int = 5000,
    until: int | None = None,
    keep: Callable[[StoredFact], bool] | None = None,
) -> ReplayResult:
    """Replays the store (up to position ``until``, default: its end) into ``db``; with
    ``keep``, only the facts it keeps (one worker's share: ``projections.shares``)."""
    started = perf_counter()
    reader = FactReader(service, page)
    last = reader.last_position() if until is None else until
    with db.transaction() as cur:
        cur.create(POSITIONS)
        for p in projections:
            p.drop(cur)
            p.create(cur)
            cur.execute(sa.delete(POSITIONS).where(POSITIONS.c.projection == p.name))
    kinds = set().union(*(p.interesting for p in projections))
    targets_of = {kind: [p for p in projections if kind in p.interesting] for kind in kinds}
    facts = applied = reached = 0
    progress(0, last)
    for batch in reader.pages(0, last):
        try:
            with db.transaction() as cur:
                share = batch if keep is None else [f for f in batch if keep(f)]
                applied += _apply_page(cur, share, targets_of, projections)
                for p in projections:
                    p.flush(cur)
                reached = batch[-1].position
                cur.upsert(
                    POSITIONS,
                    [{"projection": p.name, "store_position": reached} for p in projections],
                    ["projection"],
                    ["store_position"],
                )
        except BaseException:
            for p in projections:
                p.discard_cache()
            raise
        facts += len(batch)
        progress(reached, last)
    progress(last, last)
    return ReplayResult(
        tuple(p.name for p in projections), facts, applied, reached, perf_counter() - started
    )
