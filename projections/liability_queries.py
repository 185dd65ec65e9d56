"""Reading the liability read model for region finance: totals, the contacts behind them,
one contact's explanation, and the invoice lines of a region pair and month."""

from __future__ import annotations

from typing import Any

from projections.cursor import Cursor
from projections.invoice_lines import COLUMNS
from routing.liability.decision import LiabilityDecision

_GROUPS = {"care_region": "care_region", "profession": "profession", "mode": "mode",
           "status": "status"}  # fmt: skip


def month_totals(cur: Cursor, home_region: str, month: str) -> dict[str, Any]:
    """What ``home_region`` owes for contacts in ``month``, by care region, profession, mode
    and status; and the invoice lines issued for it, debits and credits."""
    out: dict[str, Any] = {"home_region": home_region, "month": month}
    for key, column in _GROUPS.items():
        cur.execute(
            f"SELECT {column}, COUNT(*), SUM(invoiced_amount), SUM(provider_reimbursement),"
            " SUM(patient_fee) FROM liability_decisions"
            " WHERE home_region = :home AND month = :month"
            f" GROUP BY {column} ORDER BY {column}",
            {"home": home_region, "month": month},
        )
        out[f"by_{key}"] = [
            {key: row[0], "contacts": int(row[1]), "invoiced_amount": int(row[2] or 0),
             "provider_reimbursement": int(row[3] or 0), "patient_fees": int(row[4] or 0)}
            for row in cur.fetchall()
        ]  # fmt: skip
    rows = out["by_status"]
    out["contacts"] = sum(r["contacts"] for r in rows)
    out["invoiced_amount"] = sum(r["invoiced_amount"] for r in rows)
    cur.execute(
        "SELECT type_of_invoice, COUNT(*), SUM(amount) FROM liability_invoice_lines "
        "WHERE home_region = :home AND month = :month GROUP BY type_of_invoice",
        {"home": home_region, "month": month},
    )
    lines = {int(r[0]): (int(r[1]), int(r[2] or 0)) for r in cur.fetchall()}
    debits, credits = lines.get(380, (0, 0)), lines.get(381, (0, 0))
    out["invoice_lines"] = {
        "debit_lines": debits[0], "debited": debits[1],
        "credit_lines": credits[0], "credited": credits[1],
        "net": debits[1] + credits[1],
    }  # fmt: skip
    return out


def contacts(
    cur: Cursor, home_region: str, month: str, filters: dict[str, str | None],
    limit: int = 500, offset: int = 0,
) -> list[LiabilityDecision]:  # fmt: skip
    where = ["home_region = :home", "month = :month"]
    params: dict[str, Any] = {"home": home_region, "month": month}
    for key, value in filters.items():
        if value is not None and key in _GROUPS:
            where.append(f"{_GROUPS[key]} = :{key}")
            params[key] = value
    cur.execute(
        f"SELECT decision FROM liability_decisions WHERE {' AND '.join(where)} "
        "ORDER BY episode_id, contact_id LIMIT :limit OFFSET :offset",
        params | {"limit": limit, "offset": offset},
    )
    return [LiabilityDecision.model_validate_json(r[0]) for r in cur.fetchall()]


def contact(
    cur: Cursor, episode_id: str, contact_id: str
) -> tuple[LiabilityDecision, list[dict[str, Any]]] | None:
    cur.execute(
        "SELECT decision FROM liability_decisions"
        " WHERE episode_id = :episode AND contact_id = :contact",
        {"episode": episode_id, "contact": contact_id},
    )
    row = cur.fetchone()
    if row is None:
        return None
    cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM liability_invoice_lines "
        "WHERE episode_id = :episode AND contact_id = :contact ORDER BY issued_at, line_id",
        {"episode": episode_id, "contact": contact_id},
    )
    lines = [_line(r) for r in cur.fetchall()]
    return LiabilityDecision.model_validate_json(row[0]), lines


def invoice_lines(
    cur: Cursor, care_region: str, home_region: str, month: str
) -> list[dict[str, Any]]:
    cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM liability_invoice_lines "
        "WHERE care_region = :care AND home_region = :home AND month = :month "
        "ORDER BY issued_at, line_id",
        {"care": care_region, "home": home_region, "month": month},
    )
    return [_line(r) for r in cur.fetchall()]


def is_closed(cur: Cursor, home_region: str, care_region: str, month: str) -> str | None:
    cur.execute(
        "SELECT closed_at FROM liability_closed_months "
        "WHERE home_region = :home AND care_region = :care AND month = :month",
        {"home": home_region, "care": care_region, "month": month},
    )
    row = cur.fetchone()
    return str(row[0]) if row else None


def _line(row: Any) -> dict[str, Any]:
    line = dict(zip(COLUMNS, row, strict=True))
    line["decision"] = LiabilityDecision.model_validate_json(line["decision"])
    line["open"], line["late"] = bool(line["open"]), bool(line["late"])
    return line
