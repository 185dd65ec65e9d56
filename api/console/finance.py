"""Region finance pages: the liability month, the contacts behind a figure, one contact's
explanation, closing a month and its invoice specification.

The figures come from the API's own queries (projections/liability_queries.py) on the same
read models, so the console and ``GET /finance/...`` show the same numbers; the same rules
decide who may see what (a finance user: its own region), and every page is a ``finance``
entry in the access trail, as every finance route is.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import RegionReader
from api.console import i18n
from api.console import queries as cq
from api.console.web import Refused, View, check_region, console_db, form, view
from api.routes import indicators
from projections import liability_queries as q
from routing.access import Role
from routing.episodes.service import EventRejected
from routing.kernel.calendar import MONTH_PATTERN, STOCKHOLM
from routing.liability import invoice
from routing.liability.billing import MonthClosed
from routing.liability.decision import LiabilityStatus
from routing.liability.months import close_month
from routing.reference.regions import load_regions

router = APIRouter(include_in_schema=False)
READERS = (Role.finance, Role.auditor)
PAGE = 50
MonthQ = Annotated[str | None, Query(pattern=MONTH_PATTERN)]
RegionQ = Annotated[str | None, Query(pattern=r"^\d{2}$")]


def default_month() -> str:
    """Last month in Sweden: the one finance works on."""
    today = datetime.now(STOCKHOLM).date()
    return i18n.previous_months(f"{today.year:04d}-{today.month:02d}", 2)[0]


def pick_region(v: View, region: str | None) -> str:
    """The region asked for; a finance user's own by default (another: refused)."""
    assert v.principal is not None
    own = v.principal.region
    chosen = region or (own if own and own != "*" else "01")
    if chosen not in load_regions().counties:
        raise Refused(v.t("refused_region", own=own or i18n.DASH, other=chosen))
    check_region(v, chosen)
    return chosen


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    await view(request)
    return RedirectResponse(
        "/console/liability" + (f"?{request.url.query}" if request.url.query else ""), 303
    )


@router.get("/liability", response_class=HTMLResponse)
async def liability(request: Request, region: RegionQ = None, month: MonthQ = None) -> Response:
    v = await view(request, *READERS, trail="finance")
    chosen, month = pick_region(v, region), month or default_month()
    months = i18n.previous_months(month, 24)

    def read() -> dict[str, Any]:
        with console_db(request).transaction() as cur:
            return {
                "owes": q.month_totals(cur, chosen, month),
                "owed": cq.owed_totals(cur, chosen, month),
                "trend": cq.trend(cur, chosen, months),
                "closes": cq.closes(cur, chosen, month),
            }

    data = await run_in_threadpool(read)
    assert v.principal is not None  # the API's own indicator function, same numbers (issue 22)
    found = await run_in_threadpool(
        indicators.region_indicators, request, RegionReader(v.principal), chosen, month, None
    )
    data["indicators"] = [f for f in found.figures if f.group is None]
    chart = {
        "labels": [v.month(m) for m in months],
        "series": [
            {"label": v.t("owes_short"), "data": [t["owes"] for t in data["trend"]]},
            {"label": v.t("owed_short"), "data": [t["owed"] for t in data["trend"]]},
        ],
    }
    return v.render(
        "liability.html", region=chosen, month=month, chart=json.dumps(chart),
        regions=load_regions().regions, **data,
    )  # fmt: skip


@router.get("/liability/contacts", response_class=HTMLResponse)
async def contacts(
    request: Request,
    region: RegionQ = None,
    month: MonthQ = None,
    side: Annotated[str, Query(pattern="^(home|care)$")] = "home",
    care_region: RegionQ = None,
    home_region: RegionQ = None,
    profession: Annotated[str | None, Query(max_length=64)] = None,
    mode: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=64)] = None,
    sort: Annotated[
        str, Query(pattern="^(contact|amount|status|care_region|home_region)$")
    ] = "contact",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The contacts behind a figure: a GET form filters and sorts, links page."""
    v = await view(request, *READERS, trail="finance")
    chosen, month = pick_region(v, region), month or default_month()
    filters = {"care_region": care_region, "home_region": home_region,
               "profession": profession, "mode": mode, "status": status}  # fmt: skip
    clean = {k: val for k, val in filters.items() if val}

    def read() -> tuple[int, list[Any]]:
        with console_db(request).transaction() as cur:
            return cq.contact_page(cur, side, chosen, month, clean, sort, PAGE, (page - 1) * PAGE)

    total, rows = await run_in_threadpool(read)
    pages = max(1, -(-total // PAGE))
    return v.render(
        "contacts.html", region=chosen, month=month, side=side, filters=filters, sort=sort,
        page=page, pages=pages, total=total, rows=rows, statuses=list(LiabilityStatus),
        regions=load_regions().regions,
    )  # fmt: skip


@router.get("/contacts/{episode_id}/{contact_id}", response_class=HTMLResponse)
async def explain(request: Request, episode_id: uuid.UUID, contact_id: str) -> Response:
    v = await view(request, *READERS, trail="finance")

    def read() -> Any:
        with console_db(request).transaction() as cur:
            found = q.contact(cur, str(episode_id), contact_id)
            return found, cq.facts(cur, str(episode_id)) if found else []

    found, facts = await run_in_threadpool(read)
    if found is None:
        return v.render(
            "refused.html", status_code=404, message=v.t("none"), heading=v.t("contact")
        )
    decision, lines = found
    check_region(v, decision.home_region, decision.care_region)
    shown = [{**f, "body": json.loads(f["fact"])} for f in facts]
    return v.render("contact.html", d=decision, lines=lines, facts=shown)


def _may_close(v: View, care_region: str, home_region: str) -> None:
    assert v.principal is not None
    if not v.principal.has(Role.finance):
        raise Refused(v.t("refused_role", roles="finance"))
    if v.principal.region not in ("*", care_region, home_region):
        raise Refused(v.t("refused_region", own=v.principal.region, other=care_region))


@router.get("/close", response_class=HTMLResponse)
async def close_confirm(
    request: Request, care_region: RegionQ, home_region: RegionQ, month: MonthQ
) -> Response:
    """What closing means, and a button (POST, CSRF-protected) that does it."""
    v = await view(request, Role.finance, trail="finance")
    if not (care_region and home_region and month):
        raise Refused(v.t("none"))
    _may_close(v, care_region, home_region)
    return v.render(
        "close.html", care=care_region, home=home_region, month=month, event_id=uuid.uuid4()
    )


@router.post("/close", response_class=HTMLResponse)
async def close(request: Request) -> Response:
    v = await view(request, Role.finance, trail="finance")
    fields = await form(request)
    care, home, month = (
        fields.get("care_region", ""),
        fields.get("home_region", ""),
        fields.get("month", ""),
    )
    _may_close(v, care, home)
    event = MonthClosed(
        event_id=uuid.UUID(fields.get("event_id") or str(uuid.uuid4())), home_region=home,
        care_region=care, month=month, occurred_at=datetime.now(UTC), source="routing-console",
    )  # fmt: skip
    try:
        await run_in_threadpool(close_month, request.app.state.episodes, event)
        message = v.t("closed_ok")
    except EventRejected:
        message = v.t("already_closed")
    return v.render("closed.html", care=care, home=home, month=month, message=message)


async def pair_lines(
    request: Request, v: View, care: str | None, home: str | None, month: str | None
) -> tuple[str, str, str, str | None, list[dict[str, Any]]]:
    """A region pair's month (care, home, month), when it was closed (None: open) and its
    invoice lines, read as ``GET /finance/invoices`` reads them; the pair must be given and
    readable by ``v``."""
    if not (care and home and month):
        raise Refused(v.t("none"))
    check_region(v, care, home)

    def read() -> tuple[str | None, list[dict[str, Any]]]:
        with console_db(request).transaction() as cur:
            closed_at = q.is_closed(cur, home, care, month)
            return closed_at, q.invoice_lines(cur, care, home, month)

    closed_at, lines = await run_in_threadpool(read)
    return care, home, month, closed_at, lines


@router.get("/specification", response_class=HTMLResponse)
async def specification(
    request: Request, care_region: RegionQ, home_region: RegionQ, month: MonthQ,
    fmt: Annotated[str, Query(alias="format", pattern="^(json|csv)$")] = "csv",
) -> Response:  # fmt: skip
    """The invoice specification, built exactly as ``GET /finance/invoices`` builds it."""
    v = await view(request, *READERS, trail="finance")
    care_region, home_region, month, closed_at, lines = await pair_lines(
        request, v, care_region, home_region, month
    )
    if closed_at is None:
        return v.render(
            "refused.html", status_code=409, message=v.t("not_closed_yet"),
            heading=v.t("specification"),
        )  # fmt: skip
    document = invoice.build(
        care_region, home_region, month, lines, date.fromisoformat(closed_at[:10])
    )
    name = f"fakturaunderlag-{care_region}-{home_region}-{month}.{fmt}"
    disposition = {"content-disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(
            invoice.to_csv(document), media_type="text/csv; charset=utf-8", headers=disposition
        )
    return Response(
        invoice.json_bytes(document), media_type="application/json", headers=disposition
    )
