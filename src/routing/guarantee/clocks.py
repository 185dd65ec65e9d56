"""The four care-guarantee clocks of one episode, computed from its facts (pure, no I/O).

``episode_clocks`` refolds all of an episode's facts every time: the clocks compare valid times
(``occurred_at``), so a fact recorded late (C2) simply lands in its place and the clocks come
out as if it had been recorded on time. Each clock starts at a fact and ends at the first fact,
on or after its start, that either meets it (an *end*) or takes it out of the guarantee (an
*exclusion*). An exclusion that comes after the deadline cannot hide the breach that already
happened: the clock is then ``breached`` at the day of that fact.

Clocks (subject ids are prefixed, so contact, referral and treatment ids never collide):

* ``contact`` (0 days), per primary-care contact request: ends at the first contact with staff
  in the episode (a distance contact started or completed, a physical visit held, or triage by
  a profession). Triage to self care or emergency care excludes it; triage by a profession is
  itself the contact, and at the same instant an end wins over an exclusion.
* ``assessment`` (3 days), per primary-care request made before any assessment of the episode:
  ends at the first qualified-care contact by licensed staff (distance or physical, any level).
  Advice only is not an assessment (R3); nor is an unlicensed profession.
* ``specialist_visit`` (90 days), per referral to specialised outpatient care, or per the
  episode's first specialised request when no such referral preceded it (no referral needed):
  ends at the first qualified-care specialised contact by licensed staff.
* ``treatment`` (90 days), per treatment decision. The catalogue has no "treatment given"
  fact, so the proxy is a *new* contact at the deciding unit (requested, or its physical visit
  booked, after the decision) held with qualified care by licensed staff (basis ``proxy:``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from routing.episodes import events as ev
from routing.episodes.vocabulary import CancellationReason, CareLevel
from routing.guarantee.days import (
    ASSESSMENT_IN_FORCE,
    LISTING_RULE_IN_FORCE,
    ClockKind,
    ClockStatus,
    Exclusion,
    days_between,
    deadline,
    month_of,
    overdue,
    swedish_date,
    within,
)
from routing.guarantee.facts import Contact, GuaranteeFacts, Step


@dataclass(frozen=True)
class Clock:
    kind: ClockKind
    subject_id: str
    home_region: str
    start_at: datetime
    status: ClockStatus
    end_at: datetime | None = None
    days: int | None = None
    reason: Exclusion | None = None
    basis: str = ""

    @property
    def month(self) -> str:
        return month_of(self.start_at)

    @property
    def deadline(self) -> date:
        return deadline(self.start_at, self.kind)

    def on(self, as_of: date) -> tuple[str, int | None]:
        """The state on ``as_of``: an open clock is ``pending`` or ``overdue`` (a breach that
        is still going on), with the days waited so far."""
        if self.status is not ClockStatus.open:
            return self.status.value, self.days
        waited = (as_of - swedish_date(self.start_at)).days
        return ("overdue" if overdue(self.start_at, self.kind, as_of) else "pending"), waited


def episode_clocks(facts: Iterable[ev.EpisodeEvent]) -> list[Clock]:
    """Every clock of the episode whose facts are given in recording order."""
    e = GuaranteeFacts()
    for fact in facts:
        e.fold(fact)
    clocks: list[Clock] = []
    assessed = e.assessments()
    for c in sorted(e.contacts.values(), key=lambda c: c.requested_at):
        if c.level is not CareLevel.primary:
            continue
        scope = _primary_scope(e, c)
        own = e.patient_stops([c], declines=False)
        clocks.append(
            _run(ClockKind.contact, f"contact:{c.contact_id}", e.home, c.requested_at, scope,
                 e.staff_contacts() + own + e.triage_exclusions(c.contact_id))
        )  # fmt: skip
        if any(a.at < c.requested_at for a in assessed):
            continue  # a later request about an assessed problem: no new assessment owed
        if scope is None and swedish_date(c.requested_at) < ASSESSMENT_IN_FORCE:
            scope = Exclusion.not_in_force
        clocks.append(
            _run(ClockKind.assessment, f"contact:{c.contact_id}", e.home, c.requested_at, scope,
                 assessed + own + e.triage_exclusions(c.contact_id))
        )  # fmt: skip
    clocks += _specialist_clocks(e) + _treatment_clocks(e)
    return clocks


def _region_scope(e: GuaranteeFacts, c: Contact) -> Exclusion | None:
    if c.cancelled is not None and c.cancelled[1] is CancellationReason.recorded_in_error:
        return Exclusion.recorded_in_error
    return Exclusion.other_region_choice if c.care_region != e.home else None


def _primary_scope(e: GuaranteeFacts, c: Contact) -> Exclusion | None:
    """Whether steps 1-2 of the guarantee cover this request at all."""
    scope = _region_scope(e, c)
    if scope is None and swedish_date(c.requested_at) >= LISTING_RULE_IN_FORCE:
        if c.listed_unit is None:
            return Exclusion.listing_unknown
        if c.listed_unit != c.unit:
            return Exclusion.not_listed_here
    return scope


def _specialist_clocks(e: GuaranteeFacts) -> list[Clock]:
    specialised = [c for c in e.contacts.values() if c.level is CareLevel.specialised_outpatient]
    stops = e.assessments(specialised) + e.patient_stops(specialised, declines=True)
    referrals = [
        r for r in e.referrals.values() if r.target_care_level is CareLevel.specialised_outpatient
    ]
    clocks = []
    for r in referrals:
        scope = Exclusion.other_region_choice if r.target_region != e.home else None
        rejected = e.rejected.get(r.referral_id)
        extra = [] if rejected is None else [
            Step(rejected, "referral_rejected", Exclusion.referral_rejected)
        ]  # fmt: skip
        clocks.append(
            _run(ClockKind.specialist_visit, f"referral:{r.referral_id}", e.home, r.occurred_at,
                 scope, stops + extra)
        )  # fmt: skip
    first = min(specialised, key=lambda c: c.requested_at, default=None)
    if first is not None and not any(r.occurred_at <= first.requested_at for r in referrals):
        # No referral needed (egen vårdbegäran): the clock starts at the request.
        clocks.append(
            _run(ClockKind.specialist_visit, f"contact:{first.contact_id}", e.home,
                 first.requested_at, _region_scope(e, first), stops)
        )  # fmt: skip
    return clocks


def _treatment_clocks(e: GuaranteeFacts) -> list[Clock]:
    clocks = []
    for t in e.treatments:
        at_unit = [c for c in e.contacts.values() if c.at_unit(t.care_unit_id)]
        referral = e.referrals.get(t.referral_id or "")
        region = referral.target_region if referral else next(
            (c.care_region for c in at_unit), e.home
        )  # fmt: skip
        scope = Exclusion.other_region_choice if region != e.home else None
        later = [
            c for c in at_unit
            if c.requested_at > t.occurred_at
            or (c.booked_at is not None and c.booked_at > t.occurred_at)
        ]  # fmt: skip
        ends = [
            Step(c.done_at, f"proxy: {c.done_by} at {t.care_unit_id}")
            for c in later
            if c.done_at is not None and c.qualified
        ]
        clocks.append(
            _run(ClockKind.treatment, f"treatment:{t.treatment_id}", e.home, t.occurred_at,
                 scope, ends + e.patient_stops(at_unit, declines=True))
        )  # fmt: skip
    return clocks


def _run(
    kind: ClockKind, subject: str, home: str, start: datetime, scope: Exclusion | None,
    steps: list[Step],
) -> Clock:  # fmt: skip
    """The clock's outcome: out of scope, or stopped by its first step on or after the start."""
    clock = Clock(kind, subject, home, start, ClockStatus.open)
    if scope is not None:
        return replace(clock, status=ClockStatus.excluded, reason=scope)
    candidates = [s for s in steps if s.at >= start]
    if not candidates:
        return clock
    # Earliest first; at the same instant an end wins over an exclusion.
    step = min(candidates, key=lambda s: (s.at, s.reason is not None))
    days = days_between(start, step.at)
    stopped = replace(clock, end_at=step.at, days=days, basis=step.basis)
    if step.reason is None:
        return replace(
            stopped, status=ClockStatus.met if within(days, kind) else ClockStatus.breached
        )
    if within(days, kind):
        return replace(stopped, status=ClockStatus.excluded, reason=step.reason)
    return replace(stopped, status=ClockStatus.breached, basis=f"{step.basis} after the limit")
