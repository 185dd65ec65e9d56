"""The care-guarantee clocks of one episode, computed from its facts (pure, no I/O).

``episode_clocks`` refolds all of an episode's facts every time: the clocks compare valid times
(``occurred_at``), so a fact recorded late (C2) lands in its place. Each clock starts at a fact
and ends at the first fact, on or after its start, that meets it (an *end*) or takes it out of
the guarantee. Something that happens after the deadline cannot hide the breach that already
happened. Every clock carries a trace: each rule applied, what it found, and its source.

Clocks (subject ids are prefixed, so contact, referral and treatment ids never collide):

* ``contact`` (0 days), per primary-care contact request (HSF 6 kap. 1 § 1): ends at the first
  contact with staff (a distance contact started or completed, a visit held, triage by a
  profession); phone, video and visits all count.
* ``assessment`` (3 days), only when the provider judged that a medical assessment is needed
  and could not be made at the first contact (``medical_assessment_needed``, HSF 6 kap. 1 § 2);
  it runs from the day the patient sought contact and ends at the first qualified-care contact
  by licensed staff. Advice (1177 type) is not an assessment.
* ``specialist_visit`` and ``treatment`` (90 days): see ``routing.guarantee.ninety``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from routing.episodes import events as ev
from routing.episodes.vocabulary import CancellationReason, CareLevel
from routing.guarantee.days import (
    ASSESSMENT_IN_FORCE,
    DAY_COUNT,
    LISTING_RULE_IN_FORCE,
    ClockKind,
    ClockStatus,
    Exclusion,
    ExclusionRecord,
)
from routing.guarantee.facts import Contact, GuaranteeFacts, Step
from routing.guarantee.model import Clock, GuaranteePolicy
from routing.guarantee.ninety import ninety_day_clocks
from routing.guarantee.reference import GuaranteeRules, guarantee_rules
from routing.kernel import rules as rr
from routing.kernel.calendar import swedish_date
from routing.kernel.rules import TraceStep


def episode_clocks(
    facts: Iterable[ev.EpisodeEvent],
    policy: GuaranteePolicy | None = None,
    rules: GuaranteeRules | None = None,
) -> list[Clock]:
    """Every clock of the episode whose facts are given in recording order."""
    e = GuaranteeFacts()
    for fact in facts:
        e.fold(fact)
    rules = rules or guarantee_rules()
    clocks: list[Clock] = []
    for c in sorted(e.contacts.values(), key=lambda c: c.requested_at):
        if c.level is CareLevel.primary:
            clocks += _primary_clocks(e, c, rules)
    return clocks + ninety_day_clocks(e, policy or GuaranteePolicy(), rules)


def _primary_clocks(e: GuaranteeFacts, c: Contact, rules: GuaranteeRules) -> list[Clock]:
    scope, trace = _primary_scope(e, c, rules)
    own = e.patient_stops([c])
    subject = f"contact:{c.contact_id}"
    out = [
        run(ClockKind.contact, subject, e, c.requested_at, scope,
            e.staff_contacts() + own + e.triage_exclusions(c.contact_id), trace, rules)
    ]  # fmt: skip
    need = e.needs.get(c.contact_id)
    if need is None:
        return out  # no judgement that an assessment is needed later: no 3-day clock
    assessed = e.assessments()
    trace = [*trace, rr.HSF_6_1_2.step(
        f"{need.judged_by.value} judged on {swedish_date(need.occurred_at).isoformat()} that a "
        "medical assessment is needed and could not be made at the first contact",
    )]  # fmt: skip
    if any(a.at <= need.occurred_at for a in assessed if a.at >= c.requested_at):
        return out  # the assessment was made at the first contact: no 3-day clock at all
    if scope is None and swedish_date(c.requested_at) < ASSESSMENT_IN_FORCE:
        scope = Exclusion.not_in_force
        trace.append(rr.SFS_2018_553.step("the 3-day assessment applies from 2019-01-01"))
    trace.append(rr.R3.step(
        "an assessment is qualified care by licensed staff (doctor or other licensed "
        "professional, any mode); distance advice is not an assessment", rr.domain("R16"),
    ))  # fmt: skip
    out.append(
        run(ClockKind.assessment, subject, e, c.requested_at, scope,
            assessed + own + e.triage_exclusions(c.contact_id), trace, rules)
    )  # fmt: skip
    return out


def _primary_scope(
    e: GuaranteeFacts, c: Contact, rules: GuaranteeRules
) -> tuple[Exclusion | None, list[TraceStep]]:
    """Whether steps 1-2 of the guarantee cover this request at all."""
    if c.cancelled is not None and c.cancelled[1] is CancellationReason.recorded_in_error:
        return Exclusion.recorded_in_error, [rr.C2.step("the request was recorded in error")]
    agreement = rules.agreement(e.home, c.care_region, swedish_date(c.requested_at))
    if c.care_region != e.home and agreement is not None:
        return None, [
            rr.AGREEMENT.step(
                f"region {e.home}'s guarantee covers care in {c.care_region} by agreement",
                agreement.source,
            )
        ]
    if c.care_region != e.home:
        return Exclusion.other_region_choice, [rr.HSL_9_1.step(
            f"care region {c.care_region} is not the home region {e.home}: "
            "a patient who chose care in another region is not covered there",
        )]  # fmt: skip
    trace = [rr.HSL_9_1.step(f"home region {e.home}'s guarantee")]
    listing = swedish_date(c.requested_at) >= LISTING_RULE_IN_FORCE
    if listing and (c.listed_unit is None or c.listed_unit != c.unit):
        reason = Exclusion.listing_unknown if c.listed_unit is None else Exclusion.not_listed_here
        trace.append(rr.R16.step(f"from 2022-07-01 steps 1-2 apply where the patient "
                                 f"is listed: {reason.value}"))  # fmt: skip
        return reason, trace
    return None, trace


def run(
    kind: ClockKind, subject: str, e: GuaranteeFacts, start: datetime, scope: Exclusion | None,
    steps: list[Step], trace: list[TraceStep], rules: GuaranteeRules,
) -> Clock:  # fmt: skip
    """A 0- or 3-day clock's outcome: out of scope, or stopped by its first step. Each outcome
    builds its clock once (``dataclasses.replace`` would cost more than the rules here)."""
    day0 = swedish_date(start)
    limit, source, regional = rules.limit(kind, e.home, day0)
    trace = [*trace, rr.LIMIT.step(
        f"{limit} days" + (" (the region's own, shorter)" if regional else ""), source
    ), rr.DAY_COUNT.step(DAY_COUNT)]  # fmt: skip
    if scope is not None:
        record = ExclusionRecord(scope, day0, trace[-3].finding)
        return Clock(kind, subject, e.home, start, ClockStatus.excluded, reason=scope,
                     limit=limit, exclusions=(record,), trace=tuple(trace))  # fmt: skip
    candidates = [s for s in steps if s.at >= start]
    if not candidates:
        trace.append(rr.OPEN.step("no end recorded yet"))
        return Clock(kind, subject, e.home, start, ClockStatus.open, limit=limit,
                     trace=tuple(trace))  # fmt: skip
    # Earliest first; at the same instant an end wins over an exclusion.
    step = min(candidates, key=lambda s: (s.at, s.reason is not None))
    day = swedish_date(step.at)
    days = (day - day0).days
    within = days <= limit
    verdict = f"{step.basis} on day {days} ({day.isoformat()})"
    reason, basis = None, step.basis
    exclusions: tuple[ExclusionRecord, ...] = ()
    if step.reason is None:
        status = ClockStatus.met if within else ClockStatus.breached
        trace.append((rr.MET if within else rr.BREACHED).step(
            f"{verdict}: {'within' if within else 'after'} the limit", source))  # fmt: skip
    elif within:
        status, reason = ClockStatus.excluded, step.reason
        exclusions = (ExclusionRecord(step.reason, day, step.basis),)
        trace.append(rr.EXCLUDED.step(f"{verdict}: {step.reason.value}", rr.domain("R16")))
    else:
        status, basis = ClockStatus.breached, f"{step.basis} after the limit"
        trace.append(rr.BREACHED.step(f"{verdict}: after the limit", source))
    return Clock(kind, subject, e.home, start, status, end_at=step.at, days=days, reason=reason,
                 basis=basis, limit=limit, exclusions=exclusions, trace=tuple(trace))  # fmt: skip
