"""Care guarantee (vårdgaranti 0-3-90-90): compliance per home region and month, the breaches
behind it, and one episode's clocks.

Reads the care-guarantee read model (eventually consistent with the store). Open clocks are
judged on ``as_of`` (default: today in Sweden): past their deadline they count as breaches
(``overdue``), before it as ``pending``, which is not in the share within the limit.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from api.auth import Caller, check_region, forced_region, require
from api.errors import ErrorBody
from api.params import MAX_OFFSET, Day, KnownRegion, RegionSchema
from api.routes.summaries import read_models
from projections import care_guarantee as q
from routing.access import Role
from routing.guarantee import ClockKind
from routing.guarantee.days import today

router = APIRouter(
    prefix="/care-guarantee",
    tags=["care guarantee"],
    dependencies=[Depends(require(Role.finance, Role.auditor, trail="finance"))],
)
Region = Annotated[
    str,
    Query(pattern=r"^\d{2}$", description="Home county (län code), e.g. 14"),
    KnownRegion,
    RegionSchema,
]
Month = Annotated[
    str,
    Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM, Swedish month of the start"),
]
AsOf = Annotated[
    Day | None,
    Query(description="Day on which open clocks are judged (default: today in Sweden)."),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}


class GuaranteeClock(BaseModel):
    episode_id: str
    clock: ClockKind
    subject_id: str
    home_region: str
    month: str
    start_at: str
    deadline: str
    limit_days: int
    status: str  # met | breached | overdue | pending | excluded
    days: int | None
    end_at: str | None
    reason: str | None
    basis: str


class GuaranteeClockSummary(BaseModel):
    clock: ClockKind
    limit_days: int
    count: int
    met: int
    breached: int
    overdue: int
    pending: int
    share_within: float | None
    excluded: dict[str, int]


class GuaranteeSummary(BaseModel):
    region: str
    month: str
    as_of: str
    clocks: list[GuaranteeClockSummary]
    breaches: list[GuaranteeClock]


class GuaranteeEpisode(BaseModel):
    episode_id: str
    as_of: str
    clocks: list[GuaranteeClock]


@router.get("/summary", response_model=GuaranteeSummary, summary="Compliance of a region and month")
def guarantee_summary(
    request: Request,
    caller: Caller,
    region: Region,
    month: Month,
    as_of: AsOf = None,
    breach_limit: Annotated[int, Query(ge=0, le=5000)] = 100,
) -> GuaranteeSummary:
    """Per clock (contact 0, assessment 3, specialist visit 90, treatment 90 days): clocks
    measured, met, breached, pending, the share within the limit (met / (met + breached)),
    exclusions by reason; and the first ``breach_limit`` breaches."""
    check_region(caller, region)
    day = as_of or today()
    with read_models(request).transaction() as cur:
        figures = q.summary(cur, region, month, day)
        listed = q.breaches(cur, {"home_region": region, "month": month}, day, breach_limit, 0)
    return GuaranteeSummary(**figures, breaches=[GuaranteeClock(**b) for b in listed])


@router.get("/breaches", response_model=list[GuaranteeClock], summary="Clocks over their limit")
def guarantee_breaches(
    request: Request,
    caller: Caller,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2}$", description="Home county"), KnownRegion, RegionSchema
    ] = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    clock: ClockKind | None = None,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[GuaranteeClock]:
    """Clocks that ended after their limit, and open clocks past their deadline (``overdue``,
    with the days waited so far), each with what ended it (``basis``)."""
    region = forced_region(caller, region, "care-guarantee breaches")
    filters = {"home_region": region, "month": month, "clock": clock.value if clock else None}
    with read_models(request).transaction() as cur:
        rows = q.breaches(cur, filters, as_of or today(), limit, offset)
    return [GuaranteeClock(**r) for r in rows]


@router.get("/episodes/{episode_id}", response_model=GuaranteeEpisode, responses=NOT_FOUND)
def episode_clocks(
    request: Request, caller: Caller, episode_id: UUID, as_of: AsOf = None
) -> GuaranteeEpisode:
    """Every clock of one episode: start, deadline, status, days, what ended or excluded it."""
    day = as_of or today()
    with read_models(request).transaction() as cur:
        rows = q.episode(cur, str(episode_id), day)
    if not rows:
        raise HTTPException(404, f"no care-guarantee clocks for episode {episode_id}")
    check_region(caller, rows[0]["home_region"])
    return GuaranteeEpisode(
        episode_id=str(episode_id),
        as_of=day.isoformat(),
        clocks=[GuaranteeClock(**r) for r in rows],
    )
