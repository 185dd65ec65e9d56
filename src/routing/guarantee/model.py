"""One care-guarantee clock, as the read model stores it and readers judge it on a day.

Kept apart from the rules that build clocks (``clocks``, ``ninety``) so that the read model
and the API depend on the shape only. The shape is additive: the fields the first version had
(kind, subject, region, start, status, end, days, reason, basis) keep their meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from routing.guarantee.days import (
    ClockKind,
    ClockStatus,
    Exclusion,
    ExclusionRecord,
    month_of,
)
from routing.kernel.calendar import swedish_date
from routing.kernel.rules import TraceStep


@dataclass(frozen=True)
class Clock:
    kind: ClockKind
    subject_id: str
    home_region: str
    start_at: datetime
    status: ClockStatus
    end_at: datetime | None = None
    days: int | None = None
    """Days counted when it ended: calendar days minus the medically caused waiting."""
    reason: Exclusion | None = None
    basis: str = ""
    limit: int | None = None
    """The limit in force for the home region on the start day (None: the national one)."""
    paused_days: int = 0
    """Days of medically caused waiting that are not counted; they move the deadline."""
    exclusions: tuple[ExclusionRecord, ...] = ()
    trace: tuple[TraceStep, ...] = ()
    specialty: str | None = None
    age_band: str | None = None
    booked_on: date | None = None
    """The day the latest time was booked (offered) for the subject."""
    booked_for: date | None = None
    warn_from: date | None = None
    """From this day an open clock without a time booked by its deadline is at risk."""
    answer_due: date | None = None
    """Under the 14-day answer rule (SOU 2021:59 §6.11.2, a switch): the last day to answer."""
    answered_on: date | None = None
    target_days: int | None = None
    """An agreed shorter target for this specialty (child and adolescent psychiatry: 30)."""

    @property
    def limit_days(self) -> int:
        return self.kind.limit if self.limit is None else self.limit

    @property
    def month(self) -> str:
        return month_of(self.start_at)

    @property
    def deadline(self) -> date:
        """The last Swedish calendar day on which the clock can still be met."""
        return swedish_date(self.start_at) + timedelta(days=self.limit_days + self.paused_days)

    def on(self, as_of: date) -> tuple[str, int | None]:
        """The state on ``as_of``: an open clock is ``pending`` or ``overdue`` (past its
        deadline: a breach still going on), with the days counted so far."""
        if self.status is not ClockStatus.open:
            return self.status.value, self.days
        waited = (as_of - swedish_date(self.start_at)).days - self.paused_days
        return ("overdue" if as_of > self.deadline else "pending"), waited

    def at_risk(self, as_of: date) -> bool:
        """HSL 9 kap. 2 §, SOU 2021:59 §6.11.1: an open clock, not yet past its deadline, whose
        booked time lies beyond the deadline, or with no time booked by it once the warning
        window has begun."""
        if self.status is not ClockStatus.open or as_of > self.deadline:
            return False
        booked = self.booked_on is not None and self.booked_on <= as_of
        if booked and self.booked_for is not None and self.booked_for > self.deadline:
            return True
        return self.warn_from is not None and as_of >= self.warn_from and not booked


@dataclass(frozen=True)
class GuaranteePolicy:
    """Switchable rules that are proposals, not law (like Ds 2023:27 for liability): the
    14-day answer of SOU 2021:59 §6.11.2 applies to clocks starting on or after
    ``answer_rule_from`` (None: off, the default, since the proposal has no date)."""

    answer_rule_from: date | None = None

    @property
    def label(self) -> str:
        if self.answer_rule_from is None:
            return "law only"
        return f"sou-2021-59-besked from {self.answer_rule_from.isoformat()}"
