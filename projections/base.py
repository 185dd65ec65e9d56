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

from projections.db import Cursor
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
        for table in self.tables:
            cur.execute(f"DROP TABLE IF EXISTS {table}{suffix}")


def create_position_tables(cur: Cursor) -> None:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS projection_positions ("
        " projection TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL,"
        " next_offset BIGINT NOT NULL, PRIMARY KEY (projection, topic, part))"
    )
    cur.execute(
        "CREATE TABLE IF NOT EXISTS projection_epochs ("
        " projection TEXT PRIMARY KEY, epoch INTEGER NOT NULL)"
    )
    cur.execute(
        "CREATE TABLE IF NOT EXISTS projection_store_positions ("
        " projection TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL,"
        " store_position BIGINT NOT NULL, PRIMARY KEY (projection, topic, part))"
    )


def read_position(cur: Cursor, projection: str, topic: str, part: int) -> int:
    cur.execute(
        "SELECT next_offset FROM projection_positions "
        "WHERE projection = %s AND topic = %s AND part = %s",
        (projection, topic, part),
    )
    row = cur.fetchone()
    return int(row[0]) if row else 0


def write_position(cur: Cursor, projection: str, topic: str, part: int, next_offset: int) -> None:
    cur.execute(
        "INSERT INTO projection_positions (projection, topic, part, next_offset) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (projection, topic, part) "
        "DO UPDATE SET next_offset = excluded.next_offset",
        (projection, topic, part, next_offset),
    )


def read_store_position(cur: Cursor, projection: str, topic: str, part: int) -> int:
    """The highest store position applied from ``part`` (0: none yet).

    The relay resends a page it could not record as published, so the same fact can sit at
    two offsets; within one partition the store positions of first sendings only increase,
    so a message at or below this mark is a resent duplicate.
    """
    cur.execute(
        "SELECT store_position FROM projection_store_positions "
        "WHERE projection = %s AND topic = %s AND part = %s",
        (projection, topic, part),
    )
    row = cur.fetchone()
    return int(row[0]) if row else 0


def write_store_position(cur: Cursor, projection: str, topic: str, part: int, pos: int) -> None:
    cur.execute(
        "INSERT INTO projection_store_positions (projection, topic, part, store_position) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (projection, topic, part) "
        "DO UPDATE SET store_position = excluded.store_position",
        (projection, topic, part, pos),
    )


def read_epoch(cur: Cursor, projection: str) -> int | None:
    cur.execute("SELECT epoch FROM projection_epochs WHERE projection = %s", (projection,))
    row = cur.fetchone()
    return int(row[0]) if row else None


def write_epoch(cur: Cursor, projection: str, epoch: int) -> None:
    cur.execute(
        "INSERT INTO projection_epochs (projection, epoch) VALUES (%s, %s) "
        "ON CONFLICT (projection) DO UPDATE SET epoch = excluded.epoch",
        (projection, epoch),
    )


def forget(cur: Cursor, projection: str) -> None:
    cur.execute("DELETE FROM projection_positions WHERE projection = %s", (projection,))
    cur.execute("DELETE FROM projection_epochs WHERE projection = %s", (projection,))
    cur.execute("DELETE FROM projection_store_positions WHERE projection = %s", (projection,))


def all_positions(cur: Cursor, topic: str) -> dict[str, dict[int, int]]:
    """Next offset per partition of every live projection on ``topic`` (for readiness)."""
    create_position_tables(cur)
    cur.execute(
        "SELECT projection, part, next_offset FROM projection_positions WHERE topic = %s",
        (topic,),
    )
    out: dict[str, dict[int, int]] = {}
    for projection, part, offset in cur.fetchall():
        if not str(projection).endswith(REBUILD_SUFFIX):
            out.setdefault(str(projection), {})[int(part)] = int(offset)
    return out
