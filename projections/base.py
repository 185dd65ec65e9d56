"""What a projection is, and the positions it keeps beside its read model.

A projection owns some tables and folds CloudEvents from the event topic into them. The
runner gives it a cursor inside a transaction that also records, per partition, the next
offset to read and the relay epoch the read model was built from. ``suffix`` lets the same
projection build a fresh copy of its tables for a rebuild, swapped in when complete.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import sqlalchemy as sa

from projections.cursor import Cursor
from projections.tables import projection_epochs, projection_positions, projection_store_positions
from routing.messaging.envelope import CloudEvent

REBUILD_SUFFIX = "__rebuild"


class Projection(ABC):
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    interesting: ClassVar[frozenset[str]]
    """Event types that change this read model; others only advance the position."""

    @abstractmethod
    def create(self, cur: Cursor, suffix: str = "") -> None:
        """Creates the tables (idempotently)."""

    @abstractmethod
    def apply(self, cur: Cursor, event: CloudEvent, suffix: str = "") -> None:
        """Folds one event into the read model."""

    def apply_page(self, cur: Cursor, events: Sequence[CloudEvent], suffix: str = "") -> None:
        """Folds a page of events (in store order, only ``interesting`` ones) into the read
        model, leaving it as ``apply`` one by one would (tests/unit/test_page_fold.py holds
        them equal). Projections that can fold an episode's facts at once override it."""
        for event in events:
            self.apply(cur, event, suffix)

    def discard_cache(self) -> None:
        """Forgets buffered work and anything remembered between pages: the worker calls it
        when a page's transaction fails, so memory never disagrees with the database."""
        return None

    def flush(self, cur: Cursor, suffix: str = "") -> None:
        """Writes what ``apply`` buffered; the worker calls it before saving its positions,
        in the same transaction (so buffering never weakens exactly-once)."""
        return None  # most projections write as they go

    def drop(self, cur: Cursor, suffix: str = "") -> None:
        cur.drop(*(f"{table}{suffix}" for table in self.tables))


def create_position_tables(cur: Cursor) -> None:
    """The position tables are durable (not rebuilt from the log): migrated, not created."""
    cur.ensure_durable()


_KEY = ("projection", "topic", "part")


def _position(cur: Cursor, table: sa.Table, column: str, key: tuple[str, str, int]) -> int:
    projection, topic, part = key
    cur.execute(
        sa.select(table.c[column]).where(
            table.c.projection == projection, table.c.topic == topic, table.c.part == part
        )
    )
    row = cur.fetchone()
    return int(row[0]) if row else 0


def read_position(cur: Cursor, projection: str, topic: str, part: int) -> int:
    return _position(cur, projection_positions, "next_offset", (projection, topic, part))


def write_position(cur: Cursor, projection: str, topic: str, part: int, next_offset: int) -> None:
    row = {"projection": projection, "topic": topic, "part": part, "next_offset": next_offset}
    cur.upsert(projection_positions, row, _KEY, ["next_offset"])


def read_store_position(cur: Cursor, projection: str, topic: str, part: int) -> int:
    """The highest store position applied from ``part`` (0: none yet).

    The relay resends a page it could not record as published, so the same fact can sit at
    two offsets; within one partition the store positions of first sendings only increase,
    so a message at or below this mark is a resent duplicate.
    """
    return _position(cur, projection_store_positions, "store_position", (projection, topic, part))


def write_store_position(cur: Cursor, projection: str, topic: str, part: int, pos: int) -> None:
    row = {"projection": projection, "topic": topic, "part": part, "store_position": pos}
    cur.upsert(projection_store_positions, row, _KEY, ["store_position"])


def read_epoch(cur: Cursor, projection: str) -> int | None:
    t = projection_epochs
    cur.execute(sa.select(t.c.epoch).where(t.c.projection == projection))
    row = cur.fetchone()
    return int(row[0]) if row else None


def write_epoch(cur: Cursor, projection: str, epoch: int) -> None:
    row = {"projection": projection, "epoch": epoch}
    cur.upsert(projection_epochs, row, ["projection"], ["epoch"])


def forget(cur: Cursor, projection: str) -> None:
    for t in (projection_positions, projection_epochs, projection_store_positions):
        cur.execute(sa.delete(t).where(t.c.projection == projection))


def rename(cur: Cursor, old: str, new: str) -> None:
    """Moves a projection's positions and epoch to another name (a rebuild's swap)."""
    for t in (projection_positions, projection_epochs, projection_store_positions):
        cur.execute(sa.update(t).where(t.c.projection == old).values(projection=new))


def all_positions(cur: Cursor, topic: str) -> dict[str, dict[int, int]]:
    """Next offset per partition of every live projection on ``topic`` (for readiness)."""
    create_position_tables(cur)
    t = projection_positions
    cur.execute(sa.select(t.c.projection, t.c.part, t.c.next_offset).where(t.c.topic == topic))
    out: dict[str, dict[int, int]] = {}
    for projection, part, offset in cur.fetchall():
        if not str(projection).endswith(REBUILD_SUFFIX):
            out.setdefault(str(projection), {})[int(part)] = int(offset)
    return out
