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
from projections.liability import LATER
from projections.tables import columns

LATER_COLUMNS: dict[str, tuple[str, ...]] = {"liability_decisions": LATER}
"""Columns a table gained after live read models were first written (older rows hold NULL,
or the table lacks the column until it is rebuilt). They are compared only when the live table
has them filled: ``routing verify`` stays equal on a read model written before the column, and
the decisions themselves, every other column, are compared either way."""


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


def table_rows(db: ReadModelDB, table: str, without: tuple[str, ...] = ()) -> list[bytes]:
    """The table's rows (less the columns ``without``), canonical and sorted; a table never
    created (its projection never ran) has none."""
    selected = ", ".join(c for c in columns(table) if c not in without) if without else "*"
    try:
        with db.transaction() as cur:
            cur.execute(f"SELECT {selected} FROM {table}")
            return sorted(_canonical(r) for r in cur.fetchall())
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no such table
        return []


def _filled(db: ReadModelDB, table: str, column: str) -> bool:
    try:
        with db.transaction() as cur:
            cur.execute(f"SELECT 1 FROM {table} WHERE {column} IS NOT NULL LIMIT 1")
            return cur.fetchone() is not None
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no such table or column
        return False


def _unfilled(live: ReadModelDB, table: str) -> tuple[str, ...]:
    """The later columns the live table has not filled (see ``LATER_COLUMNS``)."""
    return tuple(c for c in LATER_COLUMNS.get(table, ()) if not _filled(live, table, c))


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
    skipped = {t: _unfilled(live, t) for t in projection.tables}
    live_tables = {t: table_rows(live, t, skipped[t]) for t in projection.tables}
    replay_tables = {t: table_rows(replayed, t, skipped[t]) for t in projection.tables}
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
