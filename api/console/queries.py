"""Read-model queries the console needs beyond the API's (projections/liability_queries.py):
the care region's side of a month, a trend, what moved after a close, sorted contact pages.

Same tables, same connection, read only. Column names in SQL come from the fixed maps below,
never from the request.
"""

from __future__ import annotations

from typing import Any

from projections.cursor import Cursor
from routing.liability.decision import LiabilityDecision

GROUPS = ("home_region", "care_region", "profession", "mode", "status")
SORTS = {
    "contact": "episode_id, contact_id",
    "amount": "invoiced_amount DESC, episode_id, contact_id",
    "status": "status, episode_id, contact_id",
    "care_region": "care_region, episode_id, contact_id",
    "home_region": "home_region, episode_id, contact_id",
}
SIDES = {"home": "home_region", "care": "care_region"}


def owed_totals(cur: Cursor, care_region: str, month: str) -> dict[str, Any]:
    """What ``care_region`` is owed by other home regions for ``month``, the mirror of
    liability_queries.month_totals (which groups by care region)."""
    out: dict[str, Any] = {"care_region": care_region, "month": month}
    for key in ("home_region", "profession", "mode", "status"):
        cur.execute(
            f"SELECT {key}, COUNT(*), SUM(invoiced_amount) FROM liability_decisions"  # noqa: S608
            " WHERE care_region = :care AND home_region <> :care AND month = :month"
            f" GROUP BY {key} ORDER BY {key}",
            {"care": care_region, "month": month},
        )
        out[f"by_{key}"] = [
            {key: r[0], "contacts": int(r[1]), "invoiced_amount": int(r[2] or 0)}
            for r in cur.fetchall()
        ]
    out["contacts"] = sum(r["contacts"] for r in out["by_status"])
    out["invoiced_amount"] = sum(r["invoiced_amount"] for r in out["by_status"])
    return out


def trend(cur: Cursor, region: str, months: list[str]) -> list[dict[str, Any]]:
    """Per month: invoiced to ``region`` as home region (owes) and by it as care region
    (owed), other regions only. Two queries, one on each side's index."""
    found: dict[str, list[int]] = {m: [0, 0] for m in months}
    for side, (mine, other) in enumerate((("home_region", "care_region"),
                                          ("care_region", "home_region"))):  # fmt: skip
        cur.execute(
            f"SELECT month, SUM(invoiced_amount) FROM liability_decisions"  # noqa: S608
            f" WHERE {mine} = :region AND month >= :first AND month <= :last"
            f" AND {other} <> :region GROUP BY month",
            {"region": region, "first": months[0], "last": months[-1]},
        )
        for month, amount in cur.fetchall():
            if str(month) in found:
                found[str(month)][side] = int(amount or 0)
    return [{"month": m, "owes": found[m][0], "owed": found[m][1]} for m in months]


def closes(cur: Cursor, region: str, month: str) -> list[dict[str, Any]]:
    """Every close of ``month`` involving ``region``, each with what was issued after it:
    debits and credit notes (with their reasons), so finance sees how much moved."""
    cur.execute(
        "SELECT home_region, care_region, closed_at FROM liability_closed_months"
        " WHERE (home_region = :region OR care_region = :region) AND month = :month"
        " ORDER BY home_region, care_region",
        {"region": region, "month": month},
    )
    out = []
    for home, care, closed_at in cur.fetchall():
        cur.execute(
            "SELECT type_of_invoice, credit_reason, COUNT(*), SUM(amount)"
            " FROM liability_invoice_lines WHERE home_region = :home AND care_region = :care"
            " AND month = :month AND issued_at > :at GROUP BY type_of_invoice, credit_reason"
            " ORDER BY type_of_invoice, credit_reason",
            {"home": home, "care": care, "month": month, "at": closed_at},
        )
        after = [
            {"type": int(t), "reason": r, "lines": int(n), "amount": int(a or 0)}
            for t, r, n, a in cur.fetchall()
        ]
        out.append({"home_region": str(home), "care_region": str(care),
                    "closed_at": str(closed_at), "after": after,
                    "moved": sum(a["amount"] for a in after)})  # fmt: skip
    return out


def contact_page(
    cur: Cursor, side: str, region: str, month: str, filters: dict[str, str],
    sort: str, limit: int, offset: int,
) -> tuple[int, list[LiabilityDecision]]:  # fmt: skip
    """One page of the contacts behind a figure (``side``: home or care), and how many there
    are in all."""
    where = [f"{SIDES[side]} = :region", "month = :month"]
    params: dict[str, Any] = {"region": region, "month": month}
    if side == "care":
        where.append("home_region <> care_region")
    for key, value in filters.items():
        if key in GROUPS and value:
            where.append(f"{key} = :{key}")
            params[key] = value
    clause = " AND ".join(where)
    cur.execute(f"SELECT COUNT(*) FROM liability_decisions WHERE {clause}", params)  # noqa: S608
    total = int(cur.scalar())
    order = SORTS.get(sort, SORTS["contact"])
    # The page's keys first, then only its 50 decisions: sorting the decisions themselves
    # carried every row's JSON through the sort (page 20 of a Stockholm month: 430 ms).
    cur.execute(
        f"SELECT d.decision FROM liability_decisions d JOIN (SELECT episode_id, contact_id"  # noqa: S608
        f" FROM liability_decisions WHERE {clause} ORDER BY {order} LIMIT :limit OFFSET :offset) p"
        " ON d.episode_id = p.episode_id AND d.contact_id = p.contact_id"
        f" ORDER BY {', '.join('d.' + c.strip() for c in order.split(','))}",
        params | {"limit": limit, "offset": offset},
    )
    return total, [LiabilityDecision.model_validate_json(r[0]) for r in cur.fetchall()]


def facts(cur: Cursor, episode_id: str) -> list[dict[str, Any]]:
    """The facts the liability projection holds for an episode, with when each was recorded."""
    cur.execute(
        "SELECT position, recorded_at, fact FROM liability_facts WHERE episode_id = :episode"
        " ORDER BY position",
        {"episode": episode_id},
    )
    return [{"position": int(p), "recorded_at": str(r), "fact": f} for p, r, f in cur.fetchall()]
