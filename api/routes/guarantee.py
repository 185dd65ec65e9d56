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
from pydantic import BaseModel, Field

from api.auth import Caller, check_region, forced_region, require
from api.deps import read_models
from api.errors import ErrorBody
from api.params import MAX_OFFSET, Day, KnownRegion, RegionSchema
from api.period import OptionalPeriodText, PeriodText, parse_period
from api.routes.positions import caught_up
from projections import guarantee_reading as q
from routing.access import Role
from routing.episodes.vocabulary import Specialty
from routing.guarantee import ClockKind
from routing.guarantee.days import today
from routing.guarantee.reference import guarantee_rules

router = APIRouter(
    prefix="/care-guarantee",
    tags=["care guarantee"],
    dependencies=[
        Depends(require(Role.finance, Role.auditor, trail="finance")),
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
AT_RISK = (
    "Open, not past its deadline, and its booked time lies beyond the deadline or none is "
    "booked once the warning window has begun (HSL 9 kap. 2 §)."
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}
STATUS = (
    "met: ended within the limit. breached: ended after the limit. overdue: still open on "
    "`as_of` and past its deadline (a breach still going on). pending: still open on `as_of`, "
    "deadline not passed. excluded: taken out of the guarantee (see `reason`, `exclusions`)."
)


class TraceOut(BaseModel):
    rule: str
    finding: str
    source: str = Field(description="A public source by name, or a project choice (docs/).")


class ExclusionOut(BaseModel):
    reason: str
    on: str = Field(description="The day it happened (the choice, the refusal, the first day).")
    until: str | None = Field(description="Medically caused waiting: its last day.")
    basis: str
    counts: bool = Field(description="False: recorded, but the law's conditions do not hold.")


class GuaranteeClock(BaseModel):
    episode_id: str
    clock: ClockKind
    subject_id: str
    home_region: str
    month: str
    start_at: str
    start_day: str
    deadline: str = Field(description="Last day within the limit (moved by medical waiting).")
    limit_days: int
    status: str = Field(description=STATUS)
    days: int | None = Field(description="Days counted (calendar days; day 0 = start day).")
    days_left: int | None = Field(description="Open clocks: days from `as_of` to the deadline.")
    at_risk: bool = Field(description=AT_RISK)
    end_at: str | None
    reason: str | None
    basis: str
    paused_days: int
    specialty: str | None
    age_band: str | None
    booked_on: str | None
    booked_for: str | None
    warn_from: str | None
    answer_due: str | None
    answered_on: str | None
    answer_late: bool
    target_days: int | None
    exclusions: list[ExclusionOut]
    trace: list[TraceOut]


class PeriodOut(BaseModel):
    start: str
    end: str = Field(description="The first day after the period.")


class Envelope(BaseModel):
    region: str | None
    period: PeriodOut | None
    as_of: str
    filters: dict[str, str]
    rulebook: str


class GuaranteeClockSummary(BaseModel):
    clock: ClockKind
    limit_days: int | str | None = Field(description="'lo-hi' when the period spans a change.")
    count: int = Field(description="Clocks measured: met + breached + pending.")
    met: int
    breached: int = Field(description="Ended after the limit, plus `overdue`.")
    overdue: int = Field(description="Still open on `as_of` and past the deadline.")
    pending: int
    open: int = Field(description="Still open on `as_of`, deadline not passed (= pending).")
    at_risk: int = Field(description="Of the open ones, those at risk on `as_of`.")
    excluded: int
    excluded_by_reason: dict[str, int]
    excluded_reasons: dict[str, int] = Field(description="Same as excluded_by_reason.")
    share_within: float | None = Field(description="met / (met + breached).")
    target_measured: int
    within_target: int
    share_within_target: float | None = Field(description="Within an agreed specialty target.")
    answers_late: int = Field(description="Under the 14-day answer rule, answers given late.")


class FollowUpResult(BaseModel):
    id: str
    clock: str
    specialty: str | None
    within_days: int
    kind: str
    share_target: float | None
    improvement_points: float | None
    measured: int
    share: float | None
    base_measured: int
    base_share: float | None
    improvement: float | None
    met: bool | None = Field(description="None when nothing was measured.")
    source: str
    status: str


class GuaranteeSummary(Envelope):
    clocks: list[GuaranteeClockSummary]
    follow_up: list[FollowUpResult]
    breaches: list[GuaranteeClock]


class ClockList(Envelope):
    total: int
    limit: int
    offset: int
    items: list[GuaranteeClock]


class GuaranteeEpisode(Envelope):
    episode_id: str
    clocks: list[GuaranteeClock]


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
    request: Request, caller: Caller, region: Region, period: PeriodText,
    specialty: Specialty | None = None, age_band: AgeBandQ = None, as_of: AsOf = None,
    breach_limit: Annotated[int, Query(ge=0, le=5000)] = 100,
) -> GuaranteeSummary:  # fmt: skip
    """Per clock kind (contact 0, assessment 3, specialist visit 90, treatment 90 days) for the
    clocks that started in the period (a month or a range of days): met, breached (ended late,
    plus overdue), overdue, open, at risk, excluded by reason, the share within the limit and within
    an agreed specialty target; each follow-up target of the national agreements in force and
    whether the region meets it; and the first ``breach_limit`` breaches."""
    check_region(caller, region)
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
    which: str, request: Request, caller: Caller, region: str | None, period: q.Period | None,
    filters: dict[str, Any], day: date, limit: int, offset: int,
) -> ClockList:  # fmt: skip
    region = forced_region(caller, region, f"care-guarantee {which}")
    with read_models(request).transaction() as cur:
        total, rows = q.clock_list(
            cur, which, {**filters, "home_region": region}, period, day, limit, offset
        )
    if filters.get("episode_id") and rows:
        check_region(caller, rows[0]["home_region"])
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
    request: Request, caller: Caller, region: ListRegion = None,
    period: OptionalPeriodText = None, clock: ClockKind | None = None,
    specialty: Specialty | None = None, age_band: AgeBandQ = None, episode: UUID | None = None,
    as_of: AsOf = None, limit: Limit = 500, offset: Offset = 0,
) -> ClockList:  # fmt: skip
    """Clocks that ended after their limit (``breached``), and open clocks past their deadline
    on ``as_of`` (``overdue``, with the days counted so far), each with its trace."""
    filters = {"clock": clock.value if clock else None, "episode_id": str(episode) if episode
               else None, "specialty": specialty.value if specialty else None,
               "age_band": age_band}  # fmt: skip
    return _list("breaches", request, caller, region, _period(period) if period else None, filters,
                 as_of or today(), limit, offset)  # fmt: skip


@router.get("/at-risk", response_model=ClockList, summary="Clocks likely to miss their limit")
def guarantee_at_risk(
    request: Request, caller: Caller, region: ListRegion = None,
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
    return _list("at_risk", request, caller, region, _period(period) if period else None, filters,
                 as_of or today(), limit, offset)  # fmt: skip


@router.get("/episodes/{episode_id}", response_model=GuaranteeEpisode, responses=NOT_FOUND)
def episode_clocks(
    request: Request, caller: Caller, episode_id: UUID, as_of: AsOf = None
) -> GuaranteeEpisode:
    """Every clock of one episode: start, deadline, status, days used and left, exclusions with
    their dates, and the rule trace with sources."""
    day = as_of or today()
    with read_models(request).transaction() as cur:
        rows = q.episode(cur, str(episode_id), day)
    if not rows:
        raise HTTPException(404, f"no care-guarantee clocks for episode {episode_id}")
    check_region(caller, rows[0]["home_region"])
    env = _envelope(request, rows[0]["home_region"], None, day)
    return GuaranteeEpisode(**env, episode_id=str(episode_id),
                            clocks=[GuaranteeClock(**r) for r in rows])  # fmt: skip
