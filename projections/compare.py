"""Compares a live read model with a replayed one: a digest per projection, and the rows
that differ.

A table's digest is the SHA-256 of its rows as canonical JSON, sorted, so it does not
depend on row order, the database (SQLite or PostgreSQL) or the connection. Rows are compared
as multisets: a row missing on one side, or present more often, is a difference.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from projections.base import Projection
from projections.db import ReadModelDB


@dataclass(frozen=True)
class Difference:
    table: str
    only_in: str  # "live" | "replay"
    row: tuple[Any, ...]


@dataclass
class Comparison:
    projection: str
    live_digest: str
    replay_digest: str
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per table: (live rows, replayed rows)."""
    differences: list[Difference] = field(default_factory=list)
    total_differences: int = 0

    @property
    def equal(self) -> bool:
        return self.live_digest == self.replay_digest


def _canonical(row: Sequence[Any]) -> bytes:
    return orjson.dumps([_plain(v) for v in row])


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    return value


def table_rows(db: ReadModelDB, table: str) -> list[bytes]:
    """The table's rows, canonical and sorted; a table never created (its projection never
    ran) has none."""
    try:
        with db.transaction() as cur:
            cur.execute(f"SELECT * FROM {table}")
            return sorted(_canonical(r) for r in cur.fetchall())
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no such table
        return []


def _digest(tables: dict[str, list[bytes]]) -> str:
    h = hashlib.sha256()
    for name in sorted(tables):
        h.update(name.encode() + b"\0")
        for row in tables[name]:
            h.update(row + b"\n")
    return h.hexdigest()


def projection_digest(db: ReadModelDB, projection: Projection) -> str:
    return _digest({t: table_rows(db, t) for t in projection.tables})


def compare(
    live: ReadModelDB, replayed: ReadModelDB, projection: Projection, *, max_differences: int = 20
) -> Comparison:
    live_tables = {t: table_rows(live, t) for t in projection.tables}
    replay_tables = {t: table_rows(replayed, t) for t in projection.tables}
    result = Comparison(projection.name, _digest(live_tables), _digest(replay_tables))
    for table in projection.tables:
        a, b = live_tables[table], replay_tables[table]
        result.rows[table] = (len(a), len(b))
        if a == b:
            continue
        ca, cb = Counter(a), Counter(b)
        for side, extra in (("live", ca - cb), ("replay", cb - ca)):
            for row, times in sorted(extra.items()):
                result.total_differences += times
                if len(result.differences) < max_differences:
                    result.differences.append(Difference(table, side, tuple(orjson.loads(row))))
    return result
