"""The what-if's two paths: from the liability read model's decision inputs (seconds), or by
replaying the log (24-38 s per million facts here), and which one was taken.

The fast path (routing.audit.whatif) is taken only when it must give the log path's answer:
the ``liability_decisions`` table has the ``inputs`` column, every row has inputs, and the
liability read model has applied every fact in the store. Otherwise the log is replayed and
the answer says why. The rows are streamed, filtered in SQL to the scope's months and home
regions, never held all at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from projections.cursor import Cursor
from projections.db import ReadModelDB
from projections.liability import has_inputs_column
from projections.positions import ProjectionPositions
from routing.audit import service as audit
from routing.audit.simulation import Scope, Simulation
from routing.audit.whatif import Group, Progress, Row, WhatIf
from routing.episodes.service import CareEpisodes
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions

FAST, LOG = "read model", "log"
CHUNK = 10_000


@dataclass(frozen=True)
class Answer:
    simulation: Simulation
    path: str
    """``FAST`` or ``LOG``."""
    reason: str
    """Why this path: the fallback's cause, or what the fast path re-decided."""


def simulate(
    service: CareEpisodes,
    db: ReadModelDB | None,
    positions: ProjectionPositions | None,
    policies: tuple[RulebookPolicy, RulebookPolicy],
    scope: Scope,
    progress: Progress | None = None,
) -> Answer:
    """The what-if under ``policies`` (baseline, alternative); ``db`` None: the log path."""
    why = "asked for the log path" if db is None else fallback_reason(db, positions)
    if db is None or why is not None:
        sim = audit.simulate(service, *policies, scope, progress)
        return Answer(sim, LOG, why or "")
    whatif = WhatIf(policies, scope, (load_catalogue(), load_regions()))
    with db.transaction() as cur:
        groups = list(_groups(cur, scope, whatif.changes))  # small: counted in the database
        total = sum(group[3] for group in groups)
        sim = whatif.run(groups, lambda keys: _members(cur, scope, keys), total, progress)
    sim.facts = service.event_count()  # the store position the read model has caught up to
    why = f"{total} decisions in scope, {whatif.classes} distinct inputs re-decided"
    return Answer(sim, FAST, why + f", as of store position {sim.facts}")


def fallback_reason(db: ReadModelDB, positions: ProjectionPositions | None) -> str | None:
    """Why the read model cannot answer as the log would (None: it can)."""
    with db.transaction() as cur:
        if not _exists(cur):
            return "the liability read model has no decisions table"
        if not has_inputs_column(cur):
            return "the decisions table predates the what-if's columns (rebuild or replay it)"
        unkeyed = (
            "SELECT 1 FROM liability_decisions WHERE inputs IS NULL OR whatif_key IS NULL LIMIT 1"
        )
        if cur.execute(unkeyed).fetchone():
            return "decisions without their inputs (rebuild or replay the read model)"
    if positions is not None:
        store, reached = positions.store_position(), positions.position("liability")
        if reached < store:
            return f"the liability read model is at store position {reached} of {store}"
    return None


def _exists(cur: Cursor) -> bool:
    return sa.inspect(cur.conn).has_table("liability_decisions")


def _where(scope: Scope) -> tuple[str, dict[str, object]]:
    """The decisions a what-if decides: keyed (completed and started), within the scope's
    Swedish days and home regions."""
    sql = " WHERE whatif_key <> '' AND contact_day >= :first AND contact_day <= :last"
    params: dict[str, object] = {"first": scope.start.isoformat(), "last": scope.end.isoformat()}
    if scope.home_regions:
        names = [f":h{i}" for i in range(len(scope.home_regions))]
        sql += f" AND home_region IN ({', '.join(names)})"
        params |= {f"h{i}": r for i, r in enumerate(sorted(scope.home_regions))}
    return sql, params


def _groups(cur: Cursor, scope: Scope, changes: Sequence[date]) -> Iterator[Group]:
    """The decisions in scope counted by what-if key and classed days, in the database: a
    million facts' 203,920 decisions come back as about 37,000 groups, each with one member's
    inputs (any member's: they all fall in one decision class).

    SQLite groups by sorting, and a sort that carries every row's inputs (about 330 bytes)
    cost three times one that carries its rowid (1.04 against 0.34 s at a million facts, the
    sqlite3 shell): there the group names a member by rowid and the members' inputs are
    read afterwards. PostgreSQL aggregates by hashing and takes ``MIN(inputs)`` as it goes."""
    sql, params = _where(scope)
    contact_day, bounds = _day_class_sql("contact_day", changes)
    only = _day_class_sql("assessment_days", changes)[0]
    several = "assessment_days = '' OR assessment_days LIKE '%,%'"
    assessment = f"CASE WHEN {several} THEN assessment_days ELSE CAST({only} AS TEXT) END"
    member = "MIN(inputs)" if cur.dialect == "postgres" else "MIN(rowid)"
    query = (
        f"SELECT whatif_key, {contact_day}, {assessment}, COUNT(*), {member} "
        f"FROM liability_decisions{sql} GROUP BY 1, 2, 3"
    )
    if cur.dialect == "postgres":
        yield from cur.stream(query, params | bounds, CHUNK)
        return
    groups = list(cur.stream(query, params | bounds, CHUNK))
    inputs = _inputs_by_rowid(cur, [group[4] for group in groups])
    for key, day_class, days, count, rowid in groups:
        yield key, day_class, days, count, inputs[rowid]


def _inputs_by_rowid(cur: Cursor, rowids: list[int]) -> dict[int, str]:
    """SQLite: the inputs of these decisions, by rowid (a lookup each, in chunks)."""
    found: dict[int, str] = {}
    rowids = sorted(rowids)  # in the table's order: neighbouring rows share pages
    for start in range(0, len(rowids), _ROWIDS):
        chunk = rowids[start : start + _ROWIDS]
        marks = ", ".join(f":r{i}" for i in range(len(chunk)))
        statement = f"SELECT rowid, inputs FROM liability_decisions WHERE rowid IN ({marks})"
        rows = cur.execute(statement, {f"r{i}": r for i, r in enumerate(chunk)}).fetchall()
        found.update((int(rowid), text) for rowid, text in rows)
    return found


_ROWIDS = 500
"""Rowids per lookup statement (SQLite allows 32,766 binds; 500 keeps each statement small)."""


def _day_class_sql(column: str, changes: Sequence[date]) -> tuple[str, dict[str, object]]:
    """``column``'s (an ISO day) class as ``WhatIf.day_class`` computes it: how many of the
    sorted ``changes`` fall on or before it. Asked from the latest change back: the days in
    scope mostly lie after all but the last few (a reference entry's start years ago), so a
    row takes one or two comparisons, not one for every change since 2015."""
    whens = " ".join(f"WHEN {column} >= :dc{i} THEN {i + 1}" for i in reversed(range(len(changes))))
    bounds: dict[str, object] = {f"dc{i}": day.isoformat() for i, day in enumerate(changes)}
    return f"(CASE {whens} ELSE 0 END)", bounds


def _members(cur: Cursor, scope: Scope, keys: set[str]) -> Iterator[Row]:
    """The decisions in scope with one of ``keys``, through a temporary table of the keys."""
    cur.execute("CREATE TEMPORARY TABLE whatif_changed_keys (changed_key TEXT PRIMARY KEY)")
    cur.execute(
        "INSERT INTO whatif_changed_keys (changed_key) VALUES (:k)", [{"k": k} for k in keys]
    )
    sql, params = _where(scope)
    sql += " AND whatif_key IN (SELECT changed_key FROM whatif_changed_keys)"
    columns = "episode_id, contact_id, whatif_key, contact_day, assessment_days"
    yield from cur.stream(f"SELECT {columns} FROM liability_decisions{sql}", params, CHUNK)
    cur.execute("DROP TABLE whatif_changed_keys")
