"""Care guarantee (vårdgaranti 0-3-90-90, docs/care-guarantee.md): compliance per home region
and period, the breaches and at-risk clocks behind it, the follow-up targets of the national
agreements, and one episode's clocks with their rule traces.

Reads the care-guarantee read model (eventually consistent with the store). Open clocks are
judged on ``as_of`` (default: today in Sweden). Summaries and lists share one envelope: region,
period, ``as_of``, the filters applied and the rulebook (which proposals are switched on).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from api.auth import READS_FINANCE, Reader, RegionReader
from api.deps import read_models
from api.errors import ErrorBody
from api.params import MAX_OFFSET, Day, KnownRegion, RegionSchema
from api.period import OptionalPeriodText, PeriodText, parse_period
from api.routes.guarantee_models import (
    ClockList,
    FollowUpResult,
    GuaranteeClock,
    GuaranteeClockSummary,
    GuaranteeEpisode,
    GuaranteeSummary,
)
from api.routes.positions import caught_up
from projections import guarantee_reading as q
from routing.episodes.vocabulary import Specialty
from routing.guarantee import ClockKind
from routing.guarantee.days import today
from routing.guarantee.reference import guarantee_rules

router = APIRouter(
    prefix="/care-guarantee",
    tags=["care guarantee"],
    dependencies=[
        READS_FINANCE,
        Depends(caught_up("care_guarantee")),
    ],
)
Region = Annotated[
    str,
    Query(pattern=r"^\d{2}$", description="Home county (län code), e.g. 14"),
    KnownRegion,
    RegionSchema,
]
AsOf = Annotated[
    Day | None,
    Query(description="Day on which open clocks are judged (default: today in Sweden)."),
]
AgeBandQ = Annotated[
    Literal["0-1", "2-17", "18+", "child"] | None,
    Query(description="Patient's age band; `child` = 0-1 and 2-17."),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}


def _period(text: str) -> q.Period:
    """The start days ``period`` names (api/period.py), as the read model's [start, end);
    a range given backwards is the empty [first, first)."""
    days = parse_period(text)
    if days.empty:
        return q.Period(days.first, days.first)
    return q.Period(days.first, days.last + timedelta(days=1))


def _envelope(
    request: Request, region: str | None, period: q.Period | None, day: date, **filters: Any
) -> dict[str, Any]:
    settings = getattr(request.app.state, "settings", None)
    policy = settings.guarantee_policy() if settings is not None else None
    return {
        "region": region,
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()}
        if period else None,
        "as_of": day.isoformat(),
        "filters": {k: str(v) for k, v in filters.items() if v is not None},
        "rulebook": policy.label if policy is not None else "law only",
    }  # fmt: skip


@router.get("/summary", response_model=GuaranteeSummary, summary="Compliance of a region")
def guarantee_summary(
    request: Request, reader: Reader, region: Region, period: PeriodText,
    specialty: Specialty | None = None, age_band: AgeBandQ = None, as_of: AsOf = None,
    breach_limit: Annotated[int, Query(ge=0, le=5000)] = 100,
) -> GuaranteeSummary:  # fmt: skip
    """Per clock kind (contact 0, assessment 3, specialist visit 90, treatment 90 days) for the
    clocks that started in the period (a month or a range of days): met, breached (ended late,
    plus overdue), overdue, open, at risk, excluded by reason, the share within the limit and within
    an agreed specialty target; each follow-up target of the national agreements in force and
    whether the region meets it; and the first ``breach_limit`` breaches."""
    reader.check(region)
    chosen = _period(period)
    day = as_of or today()
    spec = specialty.value if specialty else None
    filters = {"home_region": region, "specialty": spec, "age_band": age_band}
    with read_models(request).transaction() as cur:
        clocks = q.summary(cur, filters, chosen, day)
        targets = q.follow_up(cur, region, chosen, day, guarantee_rules())
        _, listed = q.clock_list(cur, "breaches", filters, chosen, day, breach_limit, 0)
    env = _envelope(request, region, chosen, day, specialty=spec, age_band=age_band)
    return GuaranteeSummary(
        **env, clocks=[GuaranteeClockSummary(**c) for c in clocks],
        follow_up=[FollowUpResult(**t) for t in targets],
        breaches=[GuaranteeClock(**b) for b in listed],
    )  # fmt: skip


def _list(
    which: str, request: Request, reader: RegionReader, region: str | None, period: q.Period | None,
    filters: dict[str, Any], day: date, limit: int, offset: int,
) -> ClockList:  # fmt: skip
    region = reader.forced(region, f"care-guarantee {which}")
    with read_models(request).transaction() as cur:
        total, rows = q.clock_list(
            cur, which, {**filters, "home_region": region}, period, day, limit, offset
        )
    if filters.get("episode_id") and rows:
        reader.check(rows[0]["home_region"])
    env = _envelope(request, region, period, day, **filters)
    return ClockList(**env, total=total, limit=limit, offset=offset,
                     items=[GuaranteeClock(**r) for r in rows])  # fmt: skip


ListRegion = Annotated[
    str | None, Query(pattern=r"^\d{2}$", description="Home county"), KnownRegion, RegionSchema
]
Limit = Annotated[int, Query(ge=1, le=5000)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get("/breaches", response_model=ClockList, summary="Clocks over their limit")
def guarantee_breaches(
    request: Request, reader: Reader, region: ListRegion = None,
    period: OptionalPeriodText = None, clock: ClockKind | None = None,
    specialty: Specialty | None = None, age_band: AgeBandQ = None, episode: UUID | None = None,
    as_of: AsOf = None, limit: Limit = 500, offset: Offset = 0,
) -> ClockList:  # fmt: skip
    """Clocks that ended after their limit (``breached``), and open clocks past their deadline
    on ``as_of`` (``overdue``, with the days counted so far), each with its trace."""
    filters = {"clock": clock.value if clock else None, "episode_id": str(episode) if episode
               else None, "specialty": specialty.value if specialty else None,
               "age_band": age_band}  # fmt: skip
    return _list("breaches", request, reader, region, _period(period) if period else None, filters,
                 as_of or today(), limit, offset)  # fmt: skip


@router.get("/at-risk", response_model=ClockList, summary="Clocks likely to miss their limit")
def guarantee_at_risk(
    request: Request, reader: Reader, region: ListRegion = None,
    period: OptionalPeriodText = None, clock: ClockKind | None = None,
    specialty: Specialty | None = None, age_band: AgeBandQ = None, episode: UUID | None = None,
    as_of: AsOf = None, limit: Limit = 500, offset: Offset = 0,
) -> ClockList:  # fmt: skip
    """HSL 9 kap. 2 §, SOU 2021:59 §6.11.1: open clocks, not yet past their deadline, whose
    booked time lies beyond the deadline (from the day it was booked) or that have no time
    booked once the warning window before the deadline has begun; with the days left."""
    filters = {"clock": clock.value if clock else None, "episode_id": str(episode) if episode
               else None, "specialty": specialty.value if specialty else None,
               "age_band": age_band}  # fmt: skip
    return _list("at_risk", request, reader, region, _period(period) if period else None, filters,
                 as_of or today(), limit, offset)  # fmt: skip


@router.get("/episodes/{episode_id}", response_model=GuaranteeEpisode, responses=NOT_FOUND)
def episode_clocks(
    request: Request, reader: Reader, episode_id: UUID, as_of: AsOf = None
) -> GuaranteeEpisode:
    """Every clock of one episode: start, deadline, status, days used and left, exclusions with
    their dates, and the rule trace with sources."""
    day = as_of or today()
    with read_models(request).transaction() as cur:
        rows = q.episode(cur, str(episode_id), day)
    if not rows:
        raise HTTPException(404, f"no care-guarantee clocks for episode {episode_id}")
    reader.check(rows[0]["home_region"])
    env = _envelope(request, rows[0]["home_region"], None, day)
    return GuaranteeEpisode(**env, episode_id=str(episode_id),
                            clocks=[GuaranteeClock(**r) for r in rows])  # fmt: skip
