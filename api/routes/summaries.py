"""Read models built by the projection runner (eventually consistent with the store)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from api.auth import Caller, require
from api.deps import read_models
from api.params import KnownRegion, RegionSchema
from api.routes.positions import caught_up
from projections.episode_summary import EpisodeSummary
from routing.access import Role, readable_regions
from routing.kernel.calendar import MONTH_PATTERN

router = APIRouter(
    prefix="/projections",
    tags=["projections"],
    dependencies=[
        Depends(require(Role.finance, Role.auditor, trail="finance")),
        Depends(caught_up("episode_summary")),
    ],
)


class SummaryRow(BaseModel):
    home_region: str
    care_region: str
    mode: str
    month: str
    contacts: int


class SummaryOut(BaseModel):
    rows: list[SummaryRow]
    total: int


@router.get("/episode-summary", response_model=SummaryOut)
def episode_summary(
    request: Request,
    caller: Caller,
    home_region: Annotated[
        str | None, Query(pattern=r"^\d{2}$", description="Län code"), KnownRegion, RegionSchema
    ] = None,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM")] = None,
) -> SummaryOut:
    """Completed contacts per home region, care region, mode and month. Region finance sees
    the rows where its region is the home or the care region."""
    db = read_models(request)
    with db.transaction() as cur:
        rows = EpisodeSummary.rows(cur, home_region, month)
    own = readable_regions(caller)
    if own is not None:
        rows = [r for r in rows if own in (r["home_region"], r["care_region"])]
    return SummaryOut(rows=[SummaryRow(**r) for r in rows], total=sum(r["contacts"] for r in rows))
