"""Physical-necessity read model: one current C6 class per held physical visit.

The facts that can change a visit's class (requests, assessments, offers and answers, bookings,
visits: ``NecessityFacts.READS``) are kept per episode by the shared fold (projections/folds.py);
every fact recomputes the classes of the contacts it touches with the pure ``classify``. A
late-recorded assessment thus re-classifies an earlier visit (C2). Counts and shares per care
region, care unit and month are aggregated from ``necessity_visits`` when read, so they can
never drift from the per-visit classes they add up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any, ClassVar

from projections.base import Projection
from projections.db import Cursor
from projections.folds import EpisodeFolds, reads
from projections.page import by_episode
from projections.tables import table
from routing.liability.rulebooks import RulebookPolicy
from routing.messaging.envelope import CloudEvent
from routing.necessity import (
    NecessityClassification,
    NecessityFacts,
    VisitClass,
    VisitFacts,
    classify,
)

CLASSES = tuple(c.value for c in VisitClass)


def create_tables(cur: Cursor, suffix: str = "") -> None:
    """Also used by readers that may come before the first event (the API): no indexes."""
    cur.create(table("necessity_facts", suffix), table("necessity_visits", suffix), indexes=False)


def create_indexes(cur: Cursor) -> None:
    """A care region's month of visits (counts, breaches, the 12-month chart) from the index
    alone (covering: the rows carry each visit's JSON; declared in projections/tables.py).
    Live table only, as projections/liability.py explains; the name the console gave it
    before is dropped."""
    cur.execute("DROP INDEX IF EXISTS console_necessity_region")
    cur.create(table("necessity_visits"))


class Necessity(Projection):
    name: ClassVar[str] = "necessity"
    tables: ClassVar[tuple[str, ...]] = ("necessity_facts", "necessity_visits")
    interesting: ClassVar[frozenset[str]] = reads(NecessityFacts)

    def __init__(self, policy: RulebookPolicy) -> None:
        self.policy = policy
        self._folds = EpisodeFolds("necessity_facts", NecessityFacts)
        self._visit_rows: dict[tuple[str, str], tuple[object, ...]] = {}

    def create(self, cur: Cursor, suffix: str = "") -> None:
        create_tables(cur, suffix)
        if not suffix:
            create_indexes(cur)

    def discard_cache(self) -> None:
        self._folds.clear()
        self._visit_rows.clear()

    def flush(self, cur: Cursor, suffix: str = "") -> None:
        """Writes the page's facts and classes in two pipelined statements."""
        self._folds.write(cur, suffix)
        if self._visit_rows:
            visits = table("necessity_visits", suffix)
            cur.insert_rows(visits, list(self._visit_rows.values()), _ON_CONFLICT_VISIT)
            self._visit_rows.clear()

    def drop(self, cur: Cursor, suffix: str = "") -> None:
        self.discard_cache()  # the read model is being rebuilt: what we remember is void
        super().drop(cur, suffix)

    def apply_page(self, cur: Cursor, events: Sequence[CloudEvent], suffix: str = "") -> None:
        """Per episode: the group folded at once, each changed visit classified once, from
        its last held state (the row a fact-by-fact fold leaves behind)."""
        for group in by_episode(events).values():
            states = self._folds.add_group(
                cur, suffix, group, lambda: self.flush(cur, suffix), _held
            )
            for contact_id in sorted(states):
                c = classify(states[contact_id][-1][0], self.policy)
                self._visit_rows[(c.episode_id, c.contact_id)] = _row(c)

    def apply(self, cur: Cursor, event: CloudEvent, suffix: str = "") -> None:
        facts, changed = self._folds.add(cur, suffix, event, lambda: self.flush(cur, suffix))
        for contact_id in sorted(changed):
            visit = facts.contacts[contact_id]
            if visit.held_at is None:
                continue  # only held physical visits are classified
            c = classify(visit, self.policy)
            self._visit_rows[(c.episode_id, c.contact_id)] = _row(c)


_ON_CONFLICT_VISIT = (
    "ON CONFLICT (episode_id, contact_id) DO UPDATE SET care_region = excluded.care_region,"
    " care_unit_id = excluded.care_unit_id, month = excluded.month,"
    " classification = excluded.classification, breach = excluded.breach,"
    " visit_at = excluded.visit_at, detail = excluded.detail"
)


def _held(visit: VisitFacts) -> bool:
    return visit.held_at is not None


def _row(c: NecessityClassification) -> tuple[object, ...]:
    return (
        c.episode_id, c.contact_id, c.care_region, c.care_unit_id, c.month,
        c.classification.value, int(c.offer_duty_breach), c.visit_at.astimezone(UTC).isoformat(),
        c.model_dump_json(),
    )  # fmt: skip


# --- reading -------------------------------------------------------------------------------


def unit_counts(
    cur: Cursor, care_region: str, month: str, care_unit: str | None = None
) -> dict[str, dict[str, int]]:
    """Per care unit: visits by class (every class present, zeros included) and breaches."""
    where = "care_region = :care AND month = :month"
    params = {"care": care_region, "month": month, "unit": care_unit}
    if care_unit is not None:
        where += " AND care_unit_id = :unit"
    cur.execute(
        f"SELECT care_unit_id, classification, COUNT(*), SUM(breach) FROM necessity_visits "
        f"WHERE {where} GROUP BY care_unit_id, classification ORDER BY care_unit_id",
        params,
    )
    out: dict[str, dict[str, int]] = {}
    for unit, kind, n, breaches in cur.fetchall():
        row = out.setdefault(str(unit), {**dict.fromkeys(CLASSES, 0), "breaches": 0})
        row[str(kind)] = int(n)
        row["breaches"] += int(breaches or 0)
    return out


def breaches(cur: Cursor, care_region: str, month: str) -> list[NecessityClassification]:
    cur.execute(
        "SELECT detail FROM necessity_visits WHERE care_region = :care AND month = :month "
        "AND breach = 1 ORDER BY visit_at, episode_id, contact_id",
        {"care": care_region, "month": month},
    )
    return [NecessityClassification.model_validate_json(r[0]) for r in cur.fetchall()]


def visit(cur: Cursor, episode_id: str, contact_id: str) -> NecessityClassification | None:
    cur.execute(
        "SELECT detail FROM necessity_visits WHERE episode_id = :episode AND contact_id = :contact",
        {"episode": episode_id, "contact": contact_id},
    )
    row: Any = cur.fetchone()
    return NecessityClassification.model_validate_json(row[0]) if row else None
