"""Care-guarantee read model (vårdgaranti 0-3-90-90, R16): every clock of every episode, and the
region-month figures read from them.

The clocks compare valid times and a late fact can change any of them, so each interesting
fact is kept per episode (as the liability projection does) and the episode's clocks are all
computed again by the pure ``routing.guarantee`` with every fact it has, then replaced. Writes
are buffered per page and flushed in the worker's transaction; an LRU of folded fact lists
spares rereading the table for busy episodes.

An open clock is stored as ``open`` with its deadline: whether it is overdue depends on the
day one asks, which a deterministic read model must not know. Readers pass ``as_of``.
Region = home county (after any correction); month = Swedish month in which the clock started.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import date
from typing import Any, ClassVar

from projections.base import Projection
from projections.db import Cursor
from routing.episodes.events import EpisodeEvent, parse_event
from routing.guarantee import LIMITS, Clock, ClockKind, episode_clocks
from routing.messaging.envelope import CloudEvent

RELEVANT = frozenset(
    {
        "contact_requested",
        "triage_completed",
        "offer_declined",
        "contact_started",
        "contact_completed",
        "physical_visit_booked",
        "physical_visit_held",
        "contact_cancelled",
        "referral_issued",
        "referral_rejected",
        "treatment_decided",
        "home_region_corrected",
    }
)
CACHE_EPISODES = 20_000
COLUMNS = (
    "episode_id", "clock", "subject_id", "home_region", "month", "start_at", "deadline",
    "status", "end_at", "days", "reason", "basis",
)  # fmt: skip


def create_tables(cur: Cursor, suffix: str = "") -> None:
    """Also used by readers that may come before the first event (the API)."""
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS care_guarantee_facts{suffix} ("
        " episode_id TEXT NOT NULL, position BIGINT NOT NULL, fact TEXT NOT NULL,"
        " PRIMARY KEY (episode_id, position))"
    )
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS care_guarantee_clocks{suffix} ("
        " episode_id TEXT NOT NULL, clock TEXT NOT NULL, subject_id TEXT NOT NULL,"
        " home_region TEXT NOT NULL, month TEXT NOT NULL, start_at TEXT NOT NULL,"
        " deadline TEXT NOT NULL, status TEXT NOT NULL, end_at TEXT, days INTEGER,"
        " reason TEXT, basis TEXT NOT NULL, PRIMARY KEY (episode_id, clock, subject_id))"
    )
    if not suffix:
        # Only on the live table: a rebuilt table renamed into place would keep a suffixed
        # index name that the next rebuild collides with. The rebuild writes by primary key;
        # the readers' next ``create_tables`` (every API request) indexes the swapped-in table.
        cur.execute(
            "CREATE INDEX IF NOT EXISTS care_guarantee_clocks_region "
            "ON care_guarantee_clocks (home_region, month, clock)"
        )


class CareGuarantee(Projection):
    name: ClassVar[str] = "care_guarantee"
    tables: ClassVar[tuple[str, ...]] = ("care_guarantee_facts", "care_guarantee_clocks")
    interesting: ClassVar[frozenset[str]] = RELEVANT

    def __init__(self) -> None:
        self._episodes: OrderedDict[str, list[EpisodeEvent]] = OrderedDict()
        self._facts_rows: list[tuple[str, int, str]] = []
        self._changed: dict[str, list[EpisodeEvent]] = {}
        """Episodes whose clocks changed in this page, with their facts: the clocks are
        computed once per episode at ``flush``, not once per fact."""

    def create(self, cur: Cursor, suffix: str = "") -> None:
        create_tables(cur, suffix)

    def discard_cache(self) -> None:
        self._episodes.clear()
        self._facts_rows.clear()
        self._changed.clear()

    def drop(self, cur: Cursor, suffix: str = "") -> None:
        self.discard_cache()  # the read model is being rebuilt: what we remember is void
        super().drop(cur, suffix)

    def flush(self, cur: Cursor, suffix: str = "") -> None:
        """Writes the page's facts, then replaces the clocks of every episode it touched (a
        clock can change its subject's fate or vanish with a corrected fact: replace, not
        merge)."""
        if self._facts_rows:
            cur.executemany(
                f"INSERT INTO care_guarantee_facts{suffix} (episode_id, position, fact) "
                "VALUES (%s, %s, %s) ON CONFLICT (episode_id, position) DO NOTHING",
                self._facts_rows,
            )
            self._facts_rows.clear()
        if self._changed:
            episodes = [(episode,) for episode in self._changed]
            cur.executemany(
                f"DELETE FROM care_guarantee_clocks{suffix} WHERE episode_id = %s", episodes
            )
            rows = [
                _row(episode, clock)
                for episode, facts in self._changed.items()
                for clock in episode_clocks(facts)
            ]
            if rows:
                cur.executemany(
                    f"INSERT INTO care_guarantee_clocks{suffix} ({', '.join(COLUMNS)}) "
                    f"VALUES ({', '.join(['%s'] * len(COLUMNS))})",
                    rows,
                )
            self._changed.clear()

    def apply(self, cur: Cursor, event: CloudEvent, suffix: str = "") -> None:
        episode = str(event.subject)
        fact = event.fact()
        self._facts_rows.append((episode, event.storeposition, event.fact_json()))
        facts = (
            []  # an episode's first fact: nothing to read back
            if event.episodeversion == 1
            else self._facts(cur, suffix, episode, event.storeposition)
        )
        facts.append(fact)
        self._remember(episode, facts)
        self._changed[episode] = facts

    def _facts(self, cur: Cursor, suffix: str, episode: str, before: int) -> list[EpisodeEvent]:
        cached = self._episodes.get(episode)
        if cached is not None:
            self._episodes.move_to_end(episode)
            return cached
        self.flush(cur, suffix)  # the episode's earlier facts may still be buffered
        cur.execute(
            f"SELECT fact FROM care_guarantee_facts{suffix} "
            "WHERE episode_id = %s AND position < %s ORDER BY position",
            (episode, before),
        )
        return [parse_event(json.loads(fact)) for (fact,) in cur.fetchall()]

    def _remember(self, episode: str, facts: list[EpisodeEvent]) -> None:
        self._episodes[episode] = facts
        if len(self._episodes) > CACHE_EPISODES:
            self._episodes.popitem(last=False)  # refolded from the table next time


def _row(episode: str, c: Clock) -> tuple[object, ...]:
    return (
        episode, c.kind.value, c.subject_id, c.home_region, c.month, c.start_at.isoformat(),
        c.deadline.isoformat(), c.status.value, c.end_at.isoformat() if c.end_at else None,
        c.days, c.reason.value if c.reason else None, c.basis,
    )  # fmt: skip


# --- reading -------------------------------------------------------------------------------

_LATE = "CASE WHEN status = 'open' AND deadline < %s THEN 1 ELSE 0 END"


def summary(cur: Cursor, region: str, month: str, as_of: date) -> dict[str, Any]:
    """Per clock: how many are measured, met, breached (ended late or still open past the
    deadline on ``as_of``), pending; the share within the limit; exclusions by reason."""
    cur.execute(
        f"SELECT clock, status, reason, {_LATE}, COUNT(*) FROM care_guarantee_clocks "
        "WHERE home_region = %s AND month = %s GROUP BY clock, status, reason, 4",
        (as_of.isoformat(), region, month),
    )
    out: dict[ClockKind, dict[str, Any]] = {
        kind: {"clock": kind.value, "limit_days": LIMITS[kind], "count": 0, "met": 0,
               "breached": 0, "overdue": 0, "pending": 0, "share_within": None,
               "excluded": {}}
        for kind in ClockKind
    }  # fmt: skip
    for clock, status, reason, late, n in cur.fetchall():
        entry = out[ClockKind(clock)]
        if status == "excluded":
            entry["excluded"][reason] = entry["excluded"].get(reason, 0) + int(n)
            continue
        key = status if status != "open" else ("overdue" if int(late) else "pending")
        entry[key] += int(n)
        entry["count"] += int(n)
    for entry in out.values():
        entry["breached"] += entry["overdue"]
        measured = entry["met"] + entry["breached"]
        entry["share_within"] = round(entry["met"] / measured, 4) if measured else None
    return {"region": region, "month": month, "as_of": as_of.isoformat(),
            "clocks": list(out.values())}  # fmt: skip


def breaches(
    cur: Cursor, filters: dict[str, str | None], as_of: date, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Clocks that ended after their limit, and open clocks past their deadline on ``as_of``
    (ongoing breaches, with the days waited so far)."""
    where = ["(status = 'breached' OR (status = 'open' AND deadline < %s))"]
    params: list[Any] = [as_of.isoformat()]
    for column in ("home_region", "month", "clock"):
        if filters.get(column) is not None:
            where.append(f"{column} = %s")
            params.append(filters[column])
    cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM care_guarantee_clocks WHERE {' AND '.join(where)}"
        " ORDER BY month, home_region, clock, episode_id, subject_id LIMIT %s OFFSET %s",
        (*params, limit, offset),
    )
    return [_out(row, as_of) for row in cur.fetchall()]


def episode(cur: Cursor, episode_id: str, as_of: date) -> list[dict[str, Any]]:
    cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM care_guarantee_clocks WHERE episode_id = %s"
        " ORDER BY start_at, clock, subject_id",
        (episode_id,),
    )
    return [_out(row, as_of) for row in cur.fetchall()]


def _out(row: tuple[Any, ...], as_of: date) -> dict[str, Any]:
    """A stored clock as read on ``as_of``: open clocks become pending or overdue."""
    out = dict(zip(COLUMNS, row, strict=True))
    out["limit_days"] = LIMITS[ClockKind(out["clock"])]
    if out["status"] == "open":  # days waited so far: the deadline is day ``limit_days``
        late = (as_of - date.fromisoformat(out["deadline"])).days
        out["status"] = "overdue" if late > 0 else "pending"
        out["days"] = late + out["limit_days"]
    return out
