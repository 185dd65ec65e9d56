"""Credit notes raised for a region pair and month: each credit line (Inera typeOfInvoice
381) with the line it credits, why (Inera's reasonForCredit, its meaning in words), the
amount and when it was raised, marked when raised after the month was closed.

The lines are the ones ``GET /finance/invoices`` puts in its credit note: built by the same
``invoice.build`` from the same ``liability_queries.invoice_lines``, so the console and the
API cannot disagree. Finance of either region and auditors; a ``finance`` access-trail entry.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.console.finance import READERS, MonthQ, RegionQ, pair_lines
from api.console.web import view
from routing.liability import invoice

router = APIRouter(include_in_schema=False)
REASONS = (1, 2, 5, 6, 9)  # the reasons routing raises (docs/domain.md, R10); words: credit_N


def credit_lines(
    care: str, home: str, month: str, closed_at: str | None, lines: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The credit note's lines as the API builds them, each with when its line was raised."""
    issued = date.fromisoformat(closed_at[:10]) if closed_at else date.today()
    raised = {x["line_id"]: str(x["issued_at"]) for x in lines}
    decisions = {x["line_id"]: x["decision"] for x in lines}
    out = []
    for doc in invoice.build(care, home, month, lines, issued)["processClaimSpecifications"]:
        if doc["typeOfInvoice"] != invoice.CREDIT_NOTE:
            continue
        for line in doc["healthcareServicesSpecificationLine"]:
            rid = line["routingLineId"]
            out.append({
                **line, "raised": raised[rid], "decision": decisions[rid],
                "after_close": closed_at is not None and raised[rid] > closed_at,
            })  # fmt: skip
    return out


@router.get("/credit-notes", response_class=HTMLResponse)
async def credit_notes(
    request: Request, care_region: RegionQ = None, home_region: RegionQ = None,
    month: MonthQ = None,
) -> Response:  # fmt: skip
    v = await view(request, *READERS, trail="finance")
    care_region, home_region, month, closed_at, lines = await pair_lines(
        request, v, care_region, home_region, month
    )
    rows = credit_lines(care_region, home_region, month, closed_at, lines)
    return v.render(
        "credits.html", care=care_region, home=home_region, month=month, closed_at=closed_at,
        rows=rows, total=sum(r["invoicedAmountDetails"]["netAmount"] for r in rows),
    )  # fmt: skip
