"""Care-guarantee vocabulary and day counting (vårdgaranti 0-3-90-90, domain.md R16).

Days are **calendar days in Europe/Stockholm** (Vårdgivarguiden; swedish-context.md §5):
both instants are turned into Swedish dates and the dates are subtracted. Day 0 is the day the
clock started, so a contact at 23:59 on the day of the request is day 0 and one at 00:01 the
next morning is day 1. A clock is within its limit iff ``days <= limit``: the same-day contact
must happen on day 0, the assessment by day 3, the specialist visit and the treatment by day
90; day 91 is a breach. Counting dates rather than 24-hour periods makes the 23- and 25-hour
days of daylight-saving changes count as one day each, as a patient would count them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from routing.kernel.calendar import STOCKHOLM, swedish_date, swedish_month

ASSESSMENT_IN_FORCE = date(2019, 1, 1)
"""The 3-day medical assessment by licensed staff replaced the 7-day doctor visit (SFS 2018:553)."""
LISTING_RULE_IN_FORCE = date(2022, 7, 1)
"""From here steps 1-2 apply only at the unit where the patient is listed (Prop. 2021/22:72)."""


class ClockKind(StrEnum):
    contact = "contact"  # kontakt med primärvården samma dag
    assessment = "assessment"  # medicinsk bedömning inom 3 dagar
    specialist_visit = "specialist_visit"  # första besök i specialiserad vård inom 90 dagar
    treatment = "treatment"  # behandling / planerad vård inom 90 dagar

    @property
    def limit(self) -> int:
        return LIMITS[self]


LIMITS: dict[ClockKind, int] = {
    ClockKind.contact: 0,
    ClockKind.assessment: 3,
    ClockKind.specialist_visit: 90,
    ClockKind.treatment: 90,
}


class ClockStatus(StrEnum):
    """What the facts say. ``open`` has no end yet; whether it is overdue depends on the day
    you ask (``overdue``), so the read model stores ``open`` and the reader decides."""

    met = "met"
    breached = "breached"
    open = "open"
    excluded = "excluded"


class Exclusion(StrEnum):
    """Why a clock is not measured against the guarantee."""

    other_region_choice = "other_region_choice"
    """Care in another region than the home county: the guarantee does not apply (HSL 8 kap.
    3 §); on a 90-day clock also the patient's choice of another region while waiting (HSF 6
    kap. 2 § 2), from the day of the choice."""
    listing_unknown = "listing_unknown"
    """Steps 1-2 from 2022-07-01 with no listed unit recorded: coverage cannot be established."""
    not_listed_here = "not_listed_here"
    """Steps 1-2 from 2022-07-01 at a unit where the patient is not listed."""
    not_in_force = "not_in_force"
    """A 3-day assessment clock for a request before 2019-01-01 (then: 7-day doctor visit)."""
    not_needed = "not_needed"
    """Triage found no care need (self care)."""
    emergency = "emergency"
    """Triage sent the patient to emergency care, which the guarantee does not govern."""
    patient_cancelled = "patient_cancelled"
    """The patient cancelled or did not attend: a wait of the patient's own choosing."""
    patient_declined = "patient_declined"
    """The patient, informed of the guarantee and offered care within it, declined (HSF 6 kap.
    2 § 3): 90-day clocks only, from the day of the refusal."""
    medical_reasons = "medical_reasons"
    """Medically caused waiting with no end recorded yet (HSF 6 kap. 2 § 1): while it lasts
    the clock cannot be judged; once it ends its days are simply not counted."""
    referral_rejected = "referral_rejected"
    """The specialist unit rejected the referral: no specialist visit is owed under it."""
    recorded_in_error = "recorded_in_error"
    """The contact the clock hangs on never existed."""


def days_between(start: datetime, end: datetime) -> int:
    """Swedish calendar days from ``start`` to ``end`` (0: the same Swedish day)."""
    return (swedish_date(end) - swedish_date(start)).days


def within(days: int, kind: ClockKind) -> bool:
    return days <= kind.limit


def deadline(start: datetime, kind: ClockKind) -> date:
    """The last Swedish calendar day on which the clock can still be met."""
    return swedish_date(start) + timedelta(days=kind.limit)


def overdue(start: datetime, kind: ClockKind, as_of: date) -> bool:
    """An open clock is overdue once ``as_of`` lies after its deadline (day limit + 1)."""
    return as_of > deadline(start, kind)


def month_of(moment: datetime) -> str:
    """The clock's month: the Swedish month in which it started (YYYY-MM)."""
    return swedish_month(moment)


def today() -> date:
    """Today's date in Sweden (readers only: the read model itself never asks the wall clock)."""
    return datetime.now(STOCKHOLM).date()


@dataclass(frozen=True)
class ExclusionRecord:
    """Something that took days out of a clock, dated when it happened: ``on`` is the day of the
    choice or refusal, or the first day of medically caused waiting (``until`` its last day)."""

    reason: Exclusion
    on: date
    basis: str
    until: date | None = None
    counts: bool = True
    """False when the fact was recorded but does not count (e.g. a refusal without the
    guarantee's conditions): kept so the reader sees why it was not applied."""


DAY_COUNT = (
    "calendar days in Europe/Stockholm: the day the clock starts is day 0, the limit's last "
    "day (day 0 + limit) is still within it"
)
