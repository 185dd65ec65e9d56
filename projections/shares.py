"""Replay split by episode: each worker (a process here, a pod of an indexed Job on the
cluster) replays every projection for one range of episode hashes into a part of its own,
and the parts are merged into the scratch read models.

Why by episode: every projection's state is per episode (its facts, decisions, clocks and
rows), so workers never need each other's episodes, and each does a 1/N share of the work
(a split by projection is bounded by the costliest projection). Billing facts (a month's
closing) are not an episode's: every worker applies them, to its own episodes' decisions.

Merging: tables keyed by episode are disjoint between parts (a union); a closed month is in
every part, identically (kept once); ``episode_summary`` adds counts over episodes, so the
parts' counts are summed. The result equals a one-process replay row for row
(tests/integration/test_parallel_replay.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from projections import tables
from projections.base import Projection
from projections.db import Cursor, ReadModelDB
from routing.audit.reading import StoredFact
from routing.messaging.envelope import BILLING_TYPES

SUMMED = {"episode_summary": ("home_region, care_region, mode, month", "contacts")}
"""Tables whose rows add up over episodes: key columns, counted column."""


def share_of(subject: str, of: int) -> int:
    """Which of ``of`` equal hash ranges the episode falls in (CRC-32: stable everywhere)."""
    return (zlib.crc32(subject.encode()) * of) >> 32


def keeps(index: int, of: int) -> Callable[[StoredFact], bool]:
    """Whether worker ``index`` of ``of`` applies a stored fact."""
    if not 0 <= index < of:
        raise ValueError(f"worker index {index} is not in 0..{of - 1}")

    def keep(fact: StoredFact) -> bool:
        return fact.type in BILLING_TYPES or share_of(fact.subject, of) == index

    return keep


def part_schema(schema: str, index: int) -> str:
    return f"{schema}_part{index}"


DONE = tables.table("replay_part_done")


def mark_done(part: ReadModelDB, position: int) -> None:
    """Records in a part that its worker finished, up to store position ``position``."""
    with part.transaction() as cur:
        cur.create(DONE)
        cur.execute(sa.delete(DONE))
        cur.execute(sa.insert(DONE).values(store_position=position))


def done_at(part: ReadModelDB) -> int | None:
    """The store position a finished part reached (None: not finished)."""
    with part.transaction() as cur:
        cur.create(DONE)
        cur.execute(sa.select(DONE.c.store_position))
        row = cur.fetchone()
        return int(row[0]) if row else None


def prepare(scratch: ReadModelDB, projections: Sequence[Projection]) -> None:
    """Empties the scratch tables the parts are merged into."""
    positions = tables.table("replay_positions")
    with scratch.transaction() as cur:
        cur.create(positions)
        for p in projections:
            p.drop(cur)
            p.create(cur)
            cur.execute(sa.delete(positions).where(positions.c.projection == p.name))


def merge(cur: Cursor, source: str, projections: Sequence[Projection]) -> None:
    """Merges one part (``source``: the qualifier of its tables, an attached SQLite database
    or a PostgreSQL schema) into the scratch tables the cursor's search path names."""
    for p in projections:
        for table in p.tables:
            summed = SUMMED.get(table)
            if summed is None:
                cur.execute(
                    f"INSERT INTO {table} SELECT * FROM {source}.{table} WHERE true"
                    " ON CONFLICT DO NOTHING"
                )
                continue
            key, count = summed
            cur.execute(
                f"INSERT INTO {table} SELECT * FROM {source}.{table} WHERE true"
                f" ON CONFLICT ({key}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}"
            )
    cur.execute(
        f"INSERT INTO replay_positions SELECT * FROM {source}.replay_positions WHERE true"
        " ON CONFLICT (projection) DO UPDATE SET store_position = excluded.store_position"
    )


def merge_sqlite(scratch: Any, part: str, projections: Sequence[Projection]) -> None:
    """Merges the SQLite part file ``part`` into ``scratch`` (a ``SQLiteReadModels``)."""
    conn = scratch._connection
    with scratch._lock:
        conn.exec_driver_sql("ATTACH DATABASE ? AS part", (part,))
        conn.commit()
    try:
        with scratch.transaction() as cur:
            merge(cur, "part", projections)
    finally:
        with scratch._lock:
            conn.exec_driver_sql("DETACH DATABASE part")
            conn.commit()
