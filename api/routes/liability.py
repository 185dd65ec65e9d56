"""Region finance: what each home region owes, the contacts behind it, invoices and credits.

Reads the liability read model (eventually consistent with the store); closing a month is a
write to the store, like any other fact.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api import examples
from api.auth import READS_FINANCE, Reader, forbidden
from api.deps import Episodes, read_models
from api.errors import ERROR_RESPONSES, ErrorBody
from api.params import MAX_OFFSET, KnownRegion, RegionSchema
from api.routes.positions import caught_up
from projections import liability_queries as q
from routing.access import Role
from routing.identity.screen import TEXT_PATTERN
from routing.kernel.calendar import MONTH_PATTERN
from routing.liability import invoice
from routing.liability.billing import MonthClosed
from routing.liability.decision import LiabilityDecision
from routing.liability.months import close_month_at

router = APIRouter(
    prefix="/finance",
    tags=["finance"],
    dependencies=[
        READS_FINANCE,
        Depends(caught_up("liability")),
    ],
)
Region = Annotated[
    str, Query(pattern=r"^\d{2}$", description="Län code, e.g. 14"), KnownRegion, RegionSchema
]
Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}


class MonthClosedOut(BaseModel):
    billing_month_id: UUID
    recorded_at: datetime
    position: int = Field(
        description="Store position of the closing: `GET /finance/invoices?min_position=` it."
    )


class ContactExplanation(BaseModel):
    decision: LiabilityDecision
    invoice_lines: list[dict[str, Any]]


@router.get("/liability", summary="What a home region owes for a month")
def liability_totals(
    request: Request, reader: Reader, home_region: Region, month: Month
) -> dict[str, Any]:
    """Totals of the current decisions by care region, profession, mode and status, and the
    invoice lines issued (debits, credits, net). Region finance: its own home region."""
    reader.check(home_region)
    with read_models(request).transaction() as cur:
        return q.month_totals(cur, home_region, month)


@router.get("/liability/contacts", response_model=list[LiabilityDecision])
def liability_contacts(
    request: Request,
    reader: Reader,
    home_region: Region,
    month: Month,
    care_region: Annotated[str | None, Query(pattern=r"^\d{2}$"), KnownRegion, RegionSchema] = None,
    profession: Annotated[str | None, Query(pattern=TEXT_PATTERN)] = None,
    mode: Annotated[str | None, Query(pattern=TEXT_PATTERN)] = None,
    decision_status: Annotated[str | None, Query(alias="status", pattern=TEXT_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[LiabilityDecision]:
    """The contacts behind a total, each with its decision and the trace of rules applied.
    Region finance of another region than the home region sees its own care region's."""
    if reader.own_region not in (None, home_region):
        care_region = reader.forced(care_region, "contacts")
    filters = {"care_region": care_region, "profession": profession, "mode": mode,
               "status": decision_status}  # fmt: skip
    with read_models(request).transaction() as cur:
        return q.contacts(cur, home_region, month, filters, limit, offset)


@router.get(
    "/contacts/{episode_id}/{contact_id}", response_model=ContactExplanation, responses=NOT_FOUND
)
def explain_contact(
    request: Request,
    reader: Reader,
    episode_id: UUID,
    contact_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")],
) -> ContactExplanation:
    """One contact's decision: status, amounts, rulebook, reference data and every rule."""
    with read_models(request).transaction() as cur:
        found = q.contact(cur, str(episode_id), contact_id)
    if found is None:
        raise HTTPException(404, f"no decision for contact {contact_id} of episode {episode_id}")
    decision, lines = found
    reader.check(decision.home_region, decision.care_region)
    return ContactExplanation(
        decision=decision,
        invoice_lines=[{k: v for k, v in x.items() if k != "decision"} for x in lines],
    )


INVOICE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The specification: JSON, or with `format=csv` a semicolon-separated "
        "UTF-8 file with BOM.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
    409: {"model": ErrorBody, "description": "The month is not closed for this region pair."},
}


@router.get(
    "/invoices",
    summary="Invoice specification of a region pair and month",
    responses=INVOICE_RESPONSES,
)
def invoice_specification(
    request: Request,
    reader: Reader,
    care_region: Region,
    home_region: Region,
    month: Month,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """ProcessClaimSpecification-shaped JSON (380 invoice, 381 credit note), or CSV."""
    reader.check(care_region, home_region)
    with read_models(request).transaction() as cur:
        closed_at = q.is_closed(cur, home_region, care_region, month)
        lines = q.invoice_lines(cur, care_region, home_region, month)
    if closed_at is None:
        raise HTTPException(409, f"{month} is not closed for {care_region} -> {home_region}")
    document = invoice.build(
        care_region, home_region, month, lines, date.fromisoformat(closed_at[:10])
    )
    if fmt == "csv":
        name = f"fakturaunderlag-{care_region}-{home_region}-{month}.csv"
        return Response(
            invoice.to_csv(document),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    return Response(invoice.json_bytes(document), media_type="application/json")


@router.post(
    "/months/close",
    status_code=status.HTTP_201_CREATED,
    response_model=MonthClosedOut,
    responses=ERROR_RESPONSES,
)
async def close_month(
    event: Annotated[MonthClosed, Body(openapi_examples=examples.MONTH_CLOSE)],
    episodes: Episodes,
    response: Response,
    reader: Reader,
) -> MonthClosedOut:
    """Closes a month for invoices from a care region to a home region. Idempotent by
    `event_id`; closing an already closed month is a 409. Region finance of either region."""
    if not reader.principal.has(Role.finance):
        raise forbidden("closing a month needs the finance role")
    if reader.principal.region not in ("*", event.care_region, event.home_region):
        raise forbidden(f"region {reader.principal.region} may not close months of other regions")
    recorded_at, replayed, position = await run_in_threadpool(close_month_at, episodes, event)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return MonthClosedOut(
        billing_month_id=event.billing_month_id, recorded_at=recorded_at, position=position
    )
