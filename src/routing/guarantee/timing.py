"""When a 90-day clock can still be met: days of medically caused waiting that are not counted
(HSF 6 kap. 2 § 1), the booking the early warning compares with the deadline (HSL 9 kap. 2 §,
SOU 2021:59 §6.11.1) and the proposed 14-day answer (SOU 2021:59 §6.11.2)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from routing.episodes.events import MedicallyCausedWait
from routing.guarantee.facts import SubjectFacts
from routing.guarantee.model import Clock
from routing.guarantee.reference import GuaranteeRules
from routing.kernel import rules as rr
from routing.kernel.calendar import swedish_date
from routing.kernel.rules import TraceStep


def early_warning(
    clock: Clock, sf: SubjectFacts, rules: GuaranteeRules, answer_from: date | None,
    trace: list[TraceStep],
) -> Clock:  # fmt: skip
    """The booking the early warning compares with the deadline, and the 14-day answer."""
    day0 = swedish_date(clock.start_at)
    bookings = sorted(b for b in sf.bookings if b[0] >= clock.start_at)
    warn = clock.deadline - timedelta(days=rules.warning_days.get(clock.kind, 0))
    out = replace(clock, warn_from=warn)
    trace.append(
        rr.EARLY_WARNING.step(
            f"at risk from {warn} without a time booked by the "
            "deadline, or at once when the time booked lies beyond it"
        )
    )
    if bookings:
        made, scheduled = bookings[-1]
        out = replace(out, booked_on=swedish_date(made), booked_for=swedish_date(scheduled))
    answers = [swedish_date(b[0]) for b in bookings] + [
        swedish_date(n) for n in sf.notices if n >= clock.start_at
    ]
    if answer_from is not None and day0 >= answer_from:
        due = day0 + timedelta(days=rules.answer_rule.days)
        out = replace(out, answer_due=due, answered_on=min(answers, default=None))
        trace.append(rr.rule(rules.answer_rule.id).step(f"a time or notice due by {due}",
                                                        rules.answer_rule.source))  # fmt: skip
    return out


def deadline_pause(waits: list[MedicallyCausedWait], day0: date, limit: int) -> int:
    """Days of ended medically caused waiting that move the deadline: each wait that begins by
    the (already moved) deadline adds its days after day 0."""
    deadline = day0 + timedelta(days=limit)
    for w in sorted(waits, key=lambda w: w.starts_on):
        starts, ends = max(w.starts_on, day0 + timedelta(days=1)), w.ends_on or w.starts_on
        if starts <= deadline and ends >= starts:
            deadline += timedelta(days=(ends - starts).days + 1)
    return (deadline - day0).days - limit


def paused_before(waits: list[MedicallyCausedWait], start: datetime, day: date) -> int:
    """Days of medically caused waiting after day 0 up to and including ``day``."""
    day0 = swedish_date(start)
    total = 0
    for w in waits:
        starts = max(w.starts_on, day0 + timedelta(days=1))
        ends = min(w.ends_on or w.starts_on, day)
        if ends >= starts:
            total += (ends - starts).days + 1
    return total
