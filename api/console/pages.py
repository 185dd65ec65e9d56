"""Care guarantee, and offer duty and necessity: the API's queries (projections/
guarantee.py, projections/necessity.py) on the same read models, the same region rule,
each view a ``finance`` entry in the access trail like ``GET /care-guarantee/...`` and
``GET /necessity/...``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from api.console import i18n
from api.console.finance import READERS, MonthQ, RegionQ, default_month, pick_region
from api.console.web import console_db, view
from projections import guarantee_reading as cg
from projections import necessity as nq
from routing.guarantee.days import today
from routing.necessity import shares
from routing.reference.regions import load_regions

router = APIRouter(include_in_schema=False)


@router.get("/care-guarantee", response_class=HTMLResponse)
async def guarantee(
    request: Request, region: RegionQ = None, month: MonthQ = None,
    as_of: Annotated[date | None, Query()] = None,
) -> Response:  # fmt: skip
    """Share within each limit per month (12 months), the month's breaches, at-risk clocks."""
    v = await view(request, *READERS, trail="finance")
    chosen, month = pick_region(v, region), month or default_month()
    day = as_of or today()
    months = i18n.previous_months(month, 12)

    def read() -> dict[str, Any]:
        region = {"home_region": chosen}
        with console_db(request).transaction() as cur:
            series = [{"clocks": cg.summary(cur, region, _period(m), day)} for m in months]
            _, listed = cg.clock_list(cur, "breaches", region, _period(month), day, 100, 0)
            _, risk = cg.clock_list(cur, "at_risk", region, None, day, 100, 0)
        return {"series": series, "breaches": listed, "at_risk": risk}

    data = await run_in_threadpool(read)
    kinds = [c["clock"] for c in data["series"][-1]["clocks"]]
    chart = {
        "labels": [v.month(m) for m in months],
        "series": [
            {"label": v.t(f"clock_{k}"), "data": [_pct(s, k) for s in data["series"]]}
            for k in kinds
        ]
        + [{"label": v.t("target"), "data": [100] * len(months), "dashed": True}],
    }
    return v.render(
        "guarantee.html", region=chosen, month=month, as_of=day, kinds=kinds,
        current=data["series"][-1], chart=json.dumps(chart), regions=load_regions().regions,
        breaches=data["breaches"], at_risk=data["at_risk"],
        history=list(zip(months, data["series"], strict=True)),
    )  # fmt: skip


def _period(month: str) -> cg.Period:
    """The month as the API's period: its Swedish days, [first, first of the next)."""
    first = date.fromisoformat(f"{month}-01")
    return cg.Period(first, (first + timedelta(days=32)).replace(day=1))


def _pct(summary: dict[str, Any], kind: str) -> float | None:
    for c in summary["clocks"]:
        if c["clock"] == kind and c["share_within"] is not None:
            return round(100 * float(c["share_within"]), 1)
    return None


@router.get("/necessity", response_class=HTMLResponse)
async def necessity(request: Request, region: RegionQ = None, month: MonthQ = None) -> Response:
    """Physical visits by class per care unit (the month) and per month (a year), and the
    offer-duty breaches with their episodes."""
    v = await view(request, *READERS, trail="finance")
    chosen, month = pick_region(v, region), month or default_month()
    months = i18n.previous_months(month, 12)

    def read() -> dict[str, Any]:
        with console_db(request).transaction() as cur:
            per_month = [nq.unit_counts(cur, chosen, m) for m in months]
            return {"per_month": per_month, "breaches": nq.breaches(cur, chosen, month)}

    data = await run_in_threadpool(read)
    totals = [
        {k: sum(u[k] for u in units.values()) for k in (*nq.CLASSES, "breaches")}
        for units in data["per_month"]
    ]
    units = [
        {"unit": unit, "counts": counts, "visits": sum(counts[k] for k in nq.CLASSES),
         "shares": shares({k: counts[k] for k in nq.CLASSES})}
        for unit, counts in data["per_month"][-1].items()
    ]  # fmt: skip
    chart = {
        "labels": [v.month(m) for m in months],
        "series": [{"label": v.t(k), "data": [t[k] for t in totals]} for k in nq.CLASSES],
    }
    return v.render(
        "necessity.html", region=chosen, month=month, classes=nq.CLASSES, units=units,
        history=list(zip(months, totals, strict=True)), chart=json.dumps(chart),
        breaches=data["breaches"], regions=load_regions().regions,
    )  # fmt: skip
