"""The what-if's two paths: from the liability read model's decision inputs (seconds), or by
replaying the log (about 38 s per million facts), and which one was taken.

The fast path (routing.audit.whatif) is taken only when it must give the log path's answer:
the ``liability_decisions`` table has the ``inputs`` column, every row has inputs, and the
liability read model has applied every fact in the store. Otherwise the log is replayed and
the answer says why. The rows are streamed, filtered in SQL to the scope's months and home
regions, never held all at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from projections.cursor import Cursor
from projections.db import ReadModelDB
from projections.liability import has_inputs_column
from projections.positions import ProjectionPositions
from routing.audit import service as audit
from routing.audit.simulation import Scope, Simulation
from routing.audit.whatif import Progress, Row, WhatIf
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
    baseline, alternative = policies
    why = "asked for the log path" if db is None else fallback_reason(db, positions)
    if db is None or why is not None:
        sim = audit.simulate(service, baseline, alternative, scope, progress)
        return Answer(sim, LOG, why or "")
    with db.transaction() as cur:
        reference = (load_catalogue(), load_regions())
        whatif = WhatIf(policies, scope, reference, lambda e, c: _inputs(cur, e, c))
        total = _count(cur, scope)
        sim = whatif.run(_rows(cur, scope), total, progress)
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


def _count(cur: Cursor, scope: Scope) -> int:
    sql, params = _where(scope)
    return int(cur.execute("SELECT COUNT(*) FROM liability_decisions" + sql, params).scalar())


def _rows(cur: Cursor, scope: Scope) -> Iterator[Row]:
    sql, params = _where(scope)
    columns = "episode_id, contact_id, whatif_key, contact_day, assessment_days"
    yield from cur.stream(f"SELECT {columns} FROM liability_decisions{sql}", params, CHUNK)


def _inputs(cur: Cursor, episode_id: str, contact_id: str) -> str:
    """One decision's inputs, by its key, beside the stream (the what-if asks only for a
    decision whose fine key it has not met: tens of thousands in a million facts)."""
    found = cur.execute(_INPUTS, {"e": episode_id, "c": contact_id}).scalar()
    return str(found)


_INPUTS = "SELECT inputs FROM liability_decisions WHERE episode_id = :e AND contact_id = :c"
