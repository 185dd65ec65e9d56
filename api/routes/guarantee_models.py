"""The care-guarantee routes' answers (api/routes/guarantee.py): clocks with their exclusions
and traces, per-kind summaries, the follow-up targets, all in one envelope (region, period,
``as_of``, filters, rulebook). Apart from the routes so each file holds one idea."""

from __future__ import annotations

from pydantic import BaseModel, Field

from routing.guarantee import ClockKind

AT_RISK = (
    "Open, not past its deadline, and its booked time lies beyond the deadline or none is "
    "booked once the warning window has begun (HSL 9 kap. 2 §)."
)
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
