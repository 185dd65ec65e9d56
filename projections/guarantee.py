"""Care-guarantee read model (vårdgaranti 0-3-90-90, R16): every clock of every episode, and the
region-month figures read from them.

The clocks compare valid times and a late fact can change any of them, so each fact the
clocks read is kept per episode by the shared fold (projections/folds.py, ``ClockFacts``) and
the episode's clocks are all computed again by the pure ``routing.guarantee`` with every fact
it has, once per page that touched it (``shared_clocks``: the indicators read the same clocks),
then replaced. Writes are buffered per page and flushed in the worker's transaction.

An open clock is stored as ``open`` with its deadline: whether it is overdue depends on the
day one asks, which a deterministic read model must not know. Readers pass ``as_of``.
Region = home county (after any correction); month = Swedish month in which the clock started.
Reading (summaries, breaches, at-risk lists) is in ``care_guarantee_reading``.
"""

from __future__ import annotations

import json
from datetime import date
from typing import ClassVar

from projections.base import Projection
from projections.db import Cursor
from projections.folds import ClockFacts, EpisodeFolds, reads
from projections.page import shared_clocks
from projections.tables import table
from routing.guarantee import Clock, GuaranteePolicy
from routing.kernel.calendar import swedish_date
from routing.messaging.envelope import CloudEvent

COLUMNS = (
    "episode_id", "clock", "subject_id", "home_region", "month", "start_at", "deadline",
    "status", "end_at", "days", "reason", "basis",
    "start_day", "limit_days", "paused_days", "specialty", "age_band", "booked_on",
    "booked_for", "warn_from", "answer_due", "answered_on", "target_days", "exclusions", "trace",
)  # fmt: skip
"""The first twelve are the clock's first shape (kept as they were); the rest were added."""


def create_tables(cur: Cursor, suffix: str = "") -> None:
    """Also used by readers that may come before the first event (the API). The indexes
    (projections/tables.py) only on the live table: the rebuild writes by primary key; the
    readers' next ``create_tables`` (every API request) indexes the swapped-in table."""
    cur.create(table("care_guarantee_facts", suffix), table("care_guarantee_clocks", suffix))


class CareGuarantee(Projection):
    name: ClassVar[str] = "care_guarantee"
    tables: ClassVar[tuple[str, ...]] = ("care_guarantee_facts", "care_guarantee_clocks")
    interesting: ClassVar[frozenset[str]] = reads(ClockFacts)

    def __init__(self, policy: GuaranteePolicy | None = None) -> None:
        self.policy = policy or GuaranteePolicy()
        """Which proposals are switched on (the 14-day answer); the law always applies."""
        self._folds = EpisodeFolds(
            "care_guarantee_facts", ClockFacts, recorded=False, track=True
        )  # the clocks are computed once per episode at ``flush``, not once per fact
        self._clocks = shared_clocks()

    def create(self, cur: Cursor, suffix: str = "") -> None:
        create_tables(cur, suffix)

    def discard_cache(self) -> None:
        self._folds.clear()

    def drop(self, cur: Cursor, suffix: str = "") -> None:
        self.discard_cache()  # the read model is being rebuilt: what we remember is void
        super().drop(cur, suffix)

    def flush(self, cur: Cursor, suffix: str = "") -> None:
        """Writes the page's facts, then replaces the clocks of every episode it touched (a
        clock can change its subject's fate or vanish with a corrected fact: replace, not
        merge)."""
        self._folds.write(cur, suffix)
        changed = self._folds.take_touched()
        if changed:
            episodes = [{"e": episode} for episode in changed]
            clocks = f"care_guarantee_clocks{suffix}"
            cur.execute(f"DELETE FROM {clocks} WHERE episode_id = :e", episodes)
            rows = [
                _row(episode, clock)
                for episode, fold in changed.items()
                for clock in self._clocks.of(fold.facts, self.policy)
            ]
            if rows:
                cur.insert_rows(table("care_guarantee_clocks", suffix), rows)

    def apply(self, cur: Cursor, event: CloudEvent, suffix: str = "") -> None:
        self._folds.add(cur, suffix, event, lambda: self.flush(cur, suffix))


def _day(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _row(episode: str, c: Clock) -> tuple[object, ...]:
    exclusions = [
        {"reason": x.reason.value, "on": x.on.isoformat(), "until": _day(x.until),
         "basis": x.basis, "counts": x.counts}
        for x in c.exclusions
    ]  # fmt: skip
    trace = [{"rule": t.rule, "finding": t.finding, "source": t.source} for t in c.trace]
    return (
        episode, c.kind.value, c.subject_id, c.home_region, c.month, c.start_at.isoformat(),
        c.deadline.isoformat(), c.status.value, c.end_at.isoformat() if c.end_at else None,
        c.days, c.reason.value if c.reason else None, c.basis,
        swedish_date(c.start_at).isoformat(), c.limit_days, c.paused_days, c.specialty,
        c.age_band, _day(c.booked_on), _day(c.booked_for), _day(c.warn_from), _day(c.answer_due),
        _day(c.answered_on), c.target_days, json.dumps(exclusions, ensure_ascii=False),
        json.dumps(trace, ensure_ascii=False),
    )  # fmt: skip
