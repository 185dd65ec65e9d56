"""What a projection is, and the positions it keeps beside its read model.

A projection owns some tables and folds CloudEvents from the event topic into them. The
runner gives it a cursor inside a transaction that also records, per partition, the next
offset to read and the relay epoch the read model was built from. ``suffix`` lets the same
projection build a fresh copy of its tables for a rebuild, swapped in when complete.

Next offsets are the library's tracking records (``projections.tracking``), named as ingest's
(``routing.persistence.positions``: ``projection:topic:partition[@generation]``). A read model
that starts again from offset 0 takes the next generation (kept in ``projection_epochs``), so
its new positions never meet the refusal of a value below the recorded one; a rebuild's copy
reserves one before its first position, and the swap makes it the live one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import sqlalchemy as sa

from projections.cursor import Cursor
from projections.tables import projection_epochs, projection_store_positions, projection_tracking
from projections.tracking import ReadModelTracking
from routing.messaging.envelope import CloudEvent
from routing.persistence.positions import position, position_name

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


def read_position(cur: Cursor, projection: str, topic: str, part: int, generation: int) -> int:
    """The next offset to read (0: none applied), from the library-shaped tracking records."""
    name = position_name(projection, topic, part, generation)
    return ReadModelTracking._max_tracking_id(cur, name) or 0


def write_position(
    cur: Cursor, projection: str, topic: str, part: int, generation: int, next_offset: int
) -> None:
    """Records ``next_offset`` in the caller's transaction; as the library, refuses an equal
    or lower one (``IntegrityError``): the caller writes only a position that moved."""
    tracking = position(projection, topic, part, generation, next_offset)
    ReadModelTracking._insert_tracking(cur, tracking)


def _generation_of(name: str) -> int:
    _, _, generation = name.rpartition("@")
    return int(generation) if generation.isdigit() and "@" in name else 1


def next_generation(cur: Cursor, projection: str) -> int:
    """A generation no position of ``projection`` was recorded under, nor reserved by its
    live read model or a rebuild under way: a read model starting again from offset 0."""
    names = ReadModelTracking._names(cur, projection)
    t = projection_epochs
    keys = (projection, projection + REBUILD_SUFFIX)
    cur.execute(sa.select(t.c.generation).where(t.c.projection.in_(keys)))
    used = [int(r[0]) for r in cur.fetchall()] + [_generation_of(n) for n in names]
    return max(used, default=0) + 1


def read_store_position(cur: Cursor, projection: str, topic: str, part: int) -> int:
    """The highest store position applied from ``part`` (0: none yet).

    The relay resends a page it could not record as published, so the same fact can sit at
    two offsets; within one partition the store positions of first sendings only increase,
    so a message at or below this mark is a resent duplicate. Not a Kafka position (it is
    also the read-your-writes mark, projections/positions.py): kept in its own table.
    """
    t = projection_store_positions
    cur.execute(
        sa.select(t.c.store_position).where(
            t.c.projection == projection, t.c.topic == topic, t.c.part == part
        )
    )
    row = cur.fetchone()
    return int(row[0]) if row else 0


def write_store_position(cur: Cursor, projection: str, topic: str, part: int, pos: int) -> None:
    row = {"projection": projection, "topic": topic, "part": part, "store_position": pos}
    cur.upsert(projection_store_positions, row, ("projection", "topic", "part"), ["store_position"])


def read_epoch(cur: Cursor, projection: str) -> int | None:
    t = projection_epochs
    cur.execute(sa.select(t.c.epoch).where(t.c.projection == projection))
    row = cur.fetchone()
    return int(row[0]) if row and row[0] is not None else None


def reserved_generation(cur: Cursor, projection: str) -> int | None:
    """The generation recorded for ``projection`` (None: no epoch row yet)."""
    t = projection_epochs
    cur.execute(sa.select(t.c.generation).where(t.c.projection == projection))
    row = cur.fetchone()
    return int(row[0]) if row else None


def read_generation(cur: Cursor, projection: str) -> int:
    """The generation of the log positions of ``projection`` (1: never started again)."""
    return reserved_generation(cur, projection) or 1


@dataclass(frozen=True)
class PageStart:
    """What a runner reads before it applies a page from one partition."""

    epoch: int | None  # the relay epoch the read model was built from (None: nothing yet)
    generation: int  # of the log positions
    store_position: int  # the highest store position applied from the partition
    next_offset: int  # the partition's next offset to read, in this generation


_PAGE_START = (
    "SELECT e.epoch, e.generation, s.store_position "
    "FROM (SELECT CAST(:key AS TEXT) AS projection) AS k "
    f"LEFT JOIN {projection_epochs.name} AS e ON e.projection = k.projection "
    f"LEFT JOIN {projection_store_positions.name} AS s ON s.projection = k.projection "
    "AND s.topic = :topic AND s.part = :part"
)


def read_page_start(cur: Cursor, key: str, projection: str, topic: str, part: int) -> PageStart:
    """``read_epoch``, ``read_generation``, ``read_store_position`` and ``read_position`` in
    two statements: a page at a low rate holds one or two facts, and these reads, one Core
    statement each, cost a live runner more than the facts did (benchmarks/kafka.py e2e)."""
    cur.execute(_PAGE_START, {"key": key, "topic": topic, "part": part})
    epoch, generation, mark = cur.fetchone()
    generation = int(generation or 1)
    next_offset = read_position(cur, projection, topic, part, generation)
    return PageStart(None if epoch is None else int(epoch), generation, int(mark or 0), next_offset)


def write_epoch(
    cur: Cursor, projection: str, epoch: int | None, generation: int | None = None
) -> None:
    """Records the relay epoch (and, when given, a new generation: started again from 0)."""
    row: dict[str, object] = {"projection": projection, "epoch": epoch}
    update = ["epoch"]
    if generation is not None:
        row["generation"], update = generation, ["epoch", "generation"]
    cur.upsert(projection_epochs, row, ["projection"], update)


def forget(cur: Cursor, projection: str) -> None:
    """Forgets the epoch and store positions of ``projection`` (its Kafka positions stay, as
    the library's tracking records do: a read model started again takes a new generation)."""
    for t in (projection_epochs, projection_store_positions):
        cur.execute(sa.delete(t).where(t.c.projection == projection))


def rename(cur: Cursor, old: str, new: str) -> None:
    """Moves a rebuild's epoch, generation and store positions to the live name (the swap);
    its Kafka positions were recorded under the live name already, in its new generation."""
    for t in (projection_epochs, projection_store_positions):
        cur.execute(sa.update(t).where(t.c.projection == old).values(projection=new))


def all_positions(cur: Cursor, topic: str) -> dict[str, dict[int, int]]:
    """Next offset per partition of every live projection on ``topic`` (for readiness)."""
    create_position_tables(cur)
    t = projection_epochs
    cur.execute(sa.select(t.c.projection, t.c.generation))
    live = {str(p): int(g) for p, g in cur.fetchall() if not str(p).endswith(REBUILD_SUFFIX)}
    cur.execute(sa.select(projection_tracking))
    out: dict[str, dict[int, int]] = {}
    for name, offset in cur.fetchall():
        consumer, _, rest = str(name).partition(":")
        named_topic, _, part = rest.rpartition(":")
        part, _, generation = part.partition("@")
        if named_topic == topic and int(generation or 1) == live.get(consumer, 1):
            out.setdefault(consumer, {})[int(part)] = int(offset)
    return out
