"""Reading the care-guarantee read model: one episode's clocks, the figures of a home region and
period, the breaches and at-risk lists, and the follow-up targets of the national agreements.

Everything that depends on the day one asks is decided here, on ``as_of``, from what the
projection stored (the read model itself never asks the wall clock):

* ``overdue``: an open clock past its deadline on ``as_of``, a breach still going on.
* ``breached``: a clock that ended after its limit, plus the overdue ones.
* ``open`` (= ``pending``): still running on ``as_of`` and not yet past its deadline.
* ``at risk``: open, not past the deadline, and either its booked time lies beyond the deadline
  (from the day it was booked) or it has no time booked once the warning window has begun
  (HSL 9 kap. 2 §, SOU 2021:59 §6.11.1).

A period is a set of Swedish start days, [start, end): a clock belongs to the period in which it
started.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from projections.db import Cursor
from projections.guarantee import COLUMNS
from routing.guarantee import ClockKind
from routing.guarantee.reference import FollowUpTarget, GuaranteeRules

_OPEN_LATE = "(status = 'open' AND deadline < :as_of)"
_BREACH = f"(status = 'breached' OR {_OPEN_LATE})"
_AT_RISK = (
    "(status = 'open' AND deadline >= :as_of AND ("
    "(booked_on IS NOT NULL AND booked_on <= :as_of AND booked_for > deadline)"
    " OR (warn_from IS NOT NULL AND warn_from <= :as_of"
    " AND (booked_on IS NULL OR booked_on > :as_of))))"
)
_ANSWER_LATE = (
    "(answer_due IS NOT NULL AND (answered_on > answer_due"
    " OR (answered_on IS NULL AND answer_due < :as_of)))"
)
CHILD_BANDS = ("0-1", "2-17")


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    """Exclusive."""

    def out(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "until": self.end.isoformat()}

    def year_before(self) -> Period:
        return Period(_year_back(self.start), _year_back(self.end))


def _year_back(d: date) -> date:
    return d.replace(year=d.year - 1, day=min(d.day, 28) if d.month == 2 else d.day)


def _where(filters: dict[str, Any], period: Period | None) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    for column in ("home_region", "clock", "specialty", "episode_id"):
        if filters.get(column) is not None:
            where.append(f"{column} = :{column}")
            params[column] = filters[column]
    band = filters.get("age_band")
    if band == "child":
        where.append("age_band IN ('0-1', '2-17')")
    elif band is not None:
        where.append("age_band = :age_band")
        params["age_band"] = band
    if period is not None:
        where.append("start_day >= :p_start AND start_day < :p_end")
        params |= {"p_start": period.start.isoformat(), "p_end": period.end.isoformat()}
    return where or ["1 = 1"], params


def summary(
    cur: Cursor, filters: dict[str, Any], period: Period, as_of: date
) -> list[dict[str, Any]]:
    """Per clock kind: met, breached (of which overdue), open (pending), at risk, excluded by
    reason, the share within the limit, the share within an agreed target, late answers."""
    where, params = _where(filters, period)
    params["as_of"] = as_of.isoformat()
    cur.execute(
        f"SELECT clock, status, reason, CASE WHEN {_OPEN_LATE} THEN 1 ELSE 0 END,"
        f" CASE WHEN {_AT_RISK} THEN 1 ELSE 0 END,"
        " CASE WHEN target_days IS NULL OR status NOT IN ('met', 'breached') THEN NULL"
        " WHEN days <= target_days THEN 1 ELSE 0 END,"
        f" CASE WHEN {_ANSWER_LATE} THEN 1 ELSE 0 END, MIN(limit_days), MAX(limit_days),"
        f" COUNT(*) FROM care_guarantee_clocks WHERE {' AND '.join(where)}"
        " GROUP BY clock, status, reason, 4, 5, 6, 7",
        params,
    )
    out = {kind: _empty(kind) for kind in ClockKind}
    for clock, status, reason, late, risk, on_target, answer_late, lo, hi, n in cur.fetchall():
        entry, n = out[ClockKind(clock)], int(n)
        entry["limit_days"] = _limits(entry["limit_days"], int(lo), int(hi))
        entry["answers_late"] += n if int(answer_late) else 0
        if status == "excluded":
            entry["excluded"] += n
            entry["excluded_by_reason"][reason] = entry["excluded_by_reason"].get(reason, 0) + n
            continue
        entry["count"] += n
        key = status if status != "open" else ("overdue" if int(late) else "pending")
        entry[key] += n
        entry["at_risk"] += n if int(risk) else 0
        if on_target is not None:
            entry["target_measured"] += n
            entry["within_target"] += n if int(on_target) else 0
    for entry in out.values():
        entry["breached"] += entry["overdue"]
        entry["open"] = entry["pending"]
        measured = entry["met"] + entry["breached"]
        entry["share_within"] = round(entry["met"] / measured, 4) if measured else None
        t = entry["target_measured"]
        entry["share_within_target"] = round(entry["within_target"] / t, 4) if t else None
        entry["excluded_reasons"] = entry["excluded_by_reason"]
    return list(out.values())


def _empty(kind: ClockKind) -> dict[str, Any]:
    return {
        "clock": kind.value, "limit_days": None, "count": 0, "met": 0, "breached": 0,
        "overdue": 0, "pending": 0, "open": 0, "at_risk": 0, "excluded": 0,
        "excluded_by_reason": {}, "share_within": None, "target_measured": 0,
        "within_target": 0, "share_within_target": None, "answers_late": 0,
    }  # fmt: skip


def _limits(current: int | str | None, lo: int, hi: int) -> int | str:
    """The limit in force: one number, or 'lo-hi' when the period spans a change of limit."""
    seen = [int(x) for x in str(current).split("-")] if current is not None else []
    low, high = min([lo, *seen]), max([hi, *seen])
    return low if low == high else f"{low}-{high}"


def clock_list(
    cur: Cursor, which: str, filters: dict[str, Any], period: Period | None, as_of: date,
    limit: int, offset: int,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """``breaches`` or ``at_risk``: how many match, and one page of them."""
    where, params = _where(filters, period)
    where.append(_BREACH if which == "breaches" else _AT_RISK)
    params["as_of"] = as_of.isoformat()
    sql_where = " AND ".join(where)
    cur.execute(f"SELECT COUNT(*) FROM care_guarantee_clocks WHERE {sql_where}", params)
    row = cur.fetchone()
    total = int(row[0]) if row else 0
    cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM care_guarantee_clocks WHERE {sql_where}"
        " ORDER BY start_day, home_region, clock, episode_id, subject_id"
        " LIMIT :limit OFFSET :offset",
        params | {"limit": limit, "offset": offset},
    )
    return total, [out(r, as_of) for r in cur.fetchall()]


def episode(cur: Cursor, episode_id: str, as_of: date) -> list[dict[str, Any]]:
    cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM care_guarantee_clocks WHERE episode_id = :episode"
        " ORDER BY start_at, clock, subject_id",
        {"episode": episode_id},
    )
    return [out(row, as_of) for row in cur.fetchall()]


def out(row: tuple[Any, ...], as_of: date) -> dict[str, Any]:
    """A stored clock as read on ``as_of``: open clocks become pending or overdue, with the
    days counted so far, the days left and whether they are at risk."""
    c = dict(zip(COLUMNS, row, strict=True))
    c["exclusions"] = json.loads(c["exclusions"])
    c["trace"] = json.loads(c["trace"])
    deadline = date.fromisoformat(c["deadline"])
    c["days_left"], c["at_risk"] = None, False
    if c["status"] == "open":
        c["status"] = "overdue" if as_of > deadline else "pending"
        c["days"] = (as_of - date.fromisoformat(c["start_day"])).days - int(c["paused_days"])
        c["days_left"] = (deadline - as_of).days
        booked = c["booked_on"] is not None and c["booked_on"] <= as_of.isoformat()
        c["at_risk"] = c["status"] == "pending" and (
            (booked and c["booked_for"] > c["deadline"])
            or (c["warn_from"] is not None and c["warn_from"] <= as_of.isoformat() and not booked)
        )
    due, answered = c["answer_due"], c["answered_on"]
    c["answer_late"] = due is not None and (answered > due if answered else as_of.isoformat() > due)
    return c


def follow_up(
    cur: Cursor, region: str, period: Period, as_of: date, rules: GuaranteeRules
) -> list[dict[str, Any]]:
    """Each follow-up target in force in the period, its measure for the region, and whether
    it is met: the share of the clocks that ended (met or breached) within ``within_days``;
    an improvement compares with the same period a year before."""
    out_: list[dict[str, Any]] = []
    for t in rules.targets_in(period.start, period.end):
        share, n = _share(cur, region, t, period)
        base, base_n = _share(cur, region, t, period.year_before())
        gain = round((share - base) * 100, 2) if share is not None and base is not None else None
        by_share = share is not None and t.share is not None and share >= t.share
        by_gain = (
            gain is not None and t.improvement_points is not None and (gain >= t.improvement_points)
        )
        met = {"share": by_share, "improvement": by_gain}.get(t.kind, by_share or by_gain)
        out_.append({
            "id": t.id, "clock": t.clock.value, "specialty": t.specialty.value if t.specialty
            else None, "within_days": t.within_days, "kind": t.kind, "share_target": t.share,
            "improvement_points": t.improvement_points, "measured": n, "share": share,
            "base_measured": base_n, "base_share": base, "improvement": gain,
            "met": met if n else None, "source": t.source, "status": t.status,
        })  # fmt: skip
    return out_


def _share(cur: Cursor, region: str, t: FollowUpTarget, period: Period) -> tuple[float | None, int]:
    filters = {"home_region": region, "clock": t.clock.value,
               "specialty": t.specialty.value if t.specialty else None}  # fmt: skip
    where, params = _where(filters, period)
    cur.execute(
        "SELECT COUNT(*), SUM(CASE WHEN days <= :within THEN 1 ELSE 0 END)"
        f" FROM care_guarantee_clocks WHERE {' AND '.join(where)}"
        " AND status IN ('met', 'breached')",
        params | {"within": t.within_days},
    )
    row = cur.fetchone()
    n = int(row[0]) if row and row[0] else 0
    return (round(int(row[1] or 0) / n, 4) if row and n else None), n
