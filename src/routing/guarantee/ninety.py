"""The two 90-day clocks (HSF 6 kap. 1 § 3-4) and the only exclusions the law allows on them
(HSF 6 kap. 2 §), with the early warning of HSL 9 kap. 2 § and the proposed 14-day answer.

* ``specialist_visit`` runs from the referral (only one whose purpose is a first visit: return
  visits, investigations and examinations start no clock unless the home region's own
  guarantee covers them), or, when no referral is needed, from the request (self-referral). It
  ends at the first qualified-care specialised contact by licensed staff.
* ``treatment`` runs from the decision and ends when the care is given (``treatment_given``).

Days of medically caused waiting are not counted: they move the deadline. The patient's choice
of another region, and declining (only when informed of the guarantee and offered care within
it), take the clock out from the day they happened; one who declined and asks again gets a new
clock from that day (subject ``…#2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

from routing.episodes.events import MedicallyCausedWait
from routing.episodes.vocabulary import CareLevel
from routing.guarantee.days import (
    DAY_COUNT,
    ClockKind,
    ClockStatus,
    Exclusion,
    ExclusionRecord,
    days_between,
)
from routing.guarantee.facts import GuaranteeFacts, Step, SubjectFacts
from routing.guarantee.model import Clock, GuaranteePolicy
from routing.guarantee.reference import GuaranteeRules
from routing.guarantee.timing import deadline_pause, early_warning, paused_before
from routing.kernel import rules as rr
from routing.kernel.calendar import STOCKHOLM, swedish_date
from routing.kernel.rules import TraceStep


@dataclass
class Subject:
    """What one 90-day clock hangs on, and how it started."""

    kind: ClockKind
    key: str
    start: datetime
    care_region: str
    specialty: str | None
    ends: list[Step]
    trace: list[TraceStep]
    extra: list[Step] = field(default_factory=list)


def ninety_day_clocks(
    e: GuaranteeFacts, policy: GuaranteePolicy, rules: GuaranteeRules
) -> list[Clock]:
    answer_from = policy.answer_rule_from
    clocks: list[Clock] = []
    for s in _specialist_subjects(e, rules) + _treatment_subjects(e):
        clocks += _clocks_for(s, e, answer_from, rules)
    return clocks


def _specialist_subjects(e: GuaranteeFacts, rules: GuaranteeRules) -> list[Subject]:
    specialised = [c for c in e.contacts.values() if c.level is CareLevel.specialised_outpatient]
    ends = e.assessments(specialised)
    out: list[Subject] = []
    referrals = [
        r for r in e.referrals.values() if r.target_care_level is CareLevel.specialised_outpatient
    ]
    for r in referrals:
        day = swedish_date(r.occurred_at)
        spec = r.specialty.value if r.specialty else None
        trace = [
            rr.HSF_6_1_3.step(
                f"referral {r.referral_id} issued {day} to "
                f"{spec or 'an unnamed specialty'}: 90 days from the referral"
            )
        ]
        if r.purpose is None:
            trace.append(rr.PURPOSE.step("the referral names no purpose: read as a first visit"))
        elif not r.purpose.starts_a_clock:
            ext = rules.extension(e.home, r.purpose, day)
            if ext is None:
                continue  # return visits, investigations, examinations: not covered
            trace.append(
                rr.EXTENSION.step(
                    f"region {e.home}'s own guarantee covers {r.purpose.value} ({ext.id})",
                    ext.source,
                )
            )
        rejected = e.rejected.get(r.referral_id)
        extra = [] if rejected is None else [
            Step(rejected, "referral_rejected", Exclusion.referral_rejected)
        ]  # fmt: skip
        out.append(Subject(ClockKind.specialist_visit, f"referral:{r.referral_id}", r.occurred_at,
                           r.target_region, spec, ends, trace, extra))  # fmt: skip
    first = min(specialised, key=lambda c: c.requested_at, default=None)
    referred = first is not None and any(r.occurred_at <= first.requested_at for r in referrals)
    in_error = (
        first is not None
        and first.cancelled is not None
        and (first.cancelled[1].value == "recorded_in_error")
    )
    if first is not None and not referred and not in_error:
        trace = [
            rr.HSF_6_1_3.step(
                "no referral needed (self-referral, egen vårdbegäran): 90 days from the request"
            )
        ]
        out.append(Subject(
            ClockKind.specialist_visit, f"contact:{first.contact_id}", first.requested_at,
            first.care_region, first.specialty.value if first.specialty else None, ends,
            trace,
        ))  # fmt: skip
    return out


def _treatment_subjects(e: GuaranteeFacts) -> list[Subject]:
    out = []
    for t in e.treatments:
        at_unit = [c for c in e.contacts.values() if c.at_unit(t.care_unit_id)]
        referral = e.referrals.get(t.referral_id or "")
        region = referral.target_region if referral else next(
            (c.care_region for c in at_unit), e.home
        )  # fmt: skip
        spec = (referral.specialty if referral else None) or next(
            (c.specialty for c in at_unit if c.specialty), None
        )  # fmt: skip
        given = e.given.get(t.treatment_id)
        ends = [] if given is None else [Step(given, f"treatment_given {t.treatment_id}")]
        trace = [
            rr.HSF_6_1_4.step(
                f"treatment {t.treatment_id} decided "
                f"{swedish_date(t.occurred_at)}: 90 days until the care is given"
            )
        ]
        out.append(Subject(ClockKind.treatment, f"treatment:{t.treatment_id}", t.occurred_at,
                           region, spec.value if spec else None, ends, trace))  # fmt: skip
    return out


def _clocks_for(
    s: Subject, e: GuaranteeFacts, answer_from: date | None, rules: GuaranteeRules
) -> list[Clock]:
    """The subject's clock, and a new one each time a patient who declined asks again."""
    sf = e.subject(s.key)
    clocks = [_one(s, s.key, s.start, s.trace, sf, e, answer_from, rules)]
    while clocks[-1].reason is Exclusion.patient_declined and clocks[-1].end_at is not None:
        ended = clocks[-1].end_at
        again = min((a for a in sf.asked_again if a > ended), default=None)
        if again is None:
            break
        trace = [
            *s.trace,
            rr.ASKED_AGAIN.step(
                f"the patient asked again on {swedish_date(again)}: a new clock from that day"
            ),
        ]
        subject = f"{s.key}#{len(clocks) + 1}"
        clocks.append(_one(s, subject, again, trace, sf, e, answer_from, rules))
    return clocks


def _one(
    s: Subject, subject: str, start: datetime, trace: list[TraceStep], sf: SubjectFacts,
    e: GuaranteeFacts, answer_from: date | None, rules: GuaranteeRules,
) -> Clock:  # fmt: skip
    day0 = swedish_date(start)
    limit, source, regional = rules.limit(s.kind, e.home, day0)
    target = rules.target(s.kind, s.specialty, day0)
    trace = [*trace, rr.LIMIT.step(f"{limit} days" + (" (the region's own, shorter)"
                                   if regional else ""), source),
             rr.DAY_COUNT.step(DAY_COUNT)]  # fmt: skip
    if target is not None:
        trace.append(rr.TARGET.step(f"{s.specialty}: agreed target {target.days} days",
                                    target.source))  # fmt: skip
    closed = [w for w in sf.waits.values() if w.ends_on is not None]
    paused = deadline_pause(closed, day0, limit)
    clock = Clock(s.kind, subject, e.home, start, ClockStatus.open, limit=limit,
                  paused_days=paused, specialty=s.specialty,
                  age_band=e.age_band.value if e.age_band else None,
                  target_days=target.days if target else None)  # fmt: skip
    records = [ExclusionRecord(Exclusion.medical_reasons, w.starts_on, f"medically caused "
               f"waiting {w.wait_id}", w.ends_on) for w in closed]  # fmt: skip
    if paused:
        trace.append(
            rr.HSF_6_2_1.step(
                f"{paused} days of medically caused waiting not counted: deadline {clock.deadline}"
            )
        )
    clock = early_warning(clock, sf, rules, answer_from, trace)
    if s.care_region != e.home:
        agreement = rules.agreement(e.home, s.care_region, day0)
        if agreement is None:
            trace.append(
                rr.HSL_9_1.step(
                    f"care in region {s.care_region}, not the home region {e.home}: not covered"
                )
            )
            record = ExclusionRecord(Exclusion.other_region_choice, day0, "care in another region")
            return replace(clock, status=ClockStatus.excluded, reason=Exclusion.other_region_choice,
                           exclusions=(*records, record), trace=tuple(trace))  # fmt: skip
        trace.append(
            rr.AGREEMENT.step(
                f"region {e.home}'s guarantee covers care in {s.care_region} by agreement",
                agreement.source,
            )
        )
    steps = s.ends + s.extra + _exclusion_steps(sf, clock, records, trace)
    return _decide(clock, [st for st in steps if st.at >= start], closed, records, trace, source)


def _exclusion_steps(
    sf: SubjectFacts, clock: Clock, records: list[ExclusionRecord], trace: list[TraceStep]
) -> list[Step]:
    """HSF 6 kap. 2 §: the patient's choice of another region, declining (when all three
    conditions hold) and medically caused waiting that has not ended."""
    steps = [Step(at, f"other_region_chosen {region}", Exclusion.other_region_choice)
             for at, region in sf.other_region]  # fmt: skip
    for d in (d for d in sf.declines if d.occurred_at >= clock.start_at):
        problem = (
            "the patient was not informed of the guarantee" if not d.informed_of_guarantee
            else f"the care offered ({d.offered_for}) lay beyond the limit ({clock.deadline})"
            if d.offered_for > clock.deadline else None
        )  # fmt: skip
        if problem is None:
            steps.append(Step(d.occurred_at, "care_declined", Exclusion.patient_declined))
            continue
        day = swedish_date(d.occurred_at)
        records.append(ExclusionRecord(Exclusion.patient_declined, day, problem, counts=False))
        trace.append(rr.HSF_6_2_3.step(f"refusal on {day} does not count: {problem}"))  # fmt: skip
    for w in sf.waits.values():
        if w.ends_on is None:
            at = datetime.combine(w.starts_on, time(), STOCKHOLM)
            steps.append(Step(max(at, clock.start_at), f"medically caused waiting {w.wait_id} "
                              "(no end yet)", Exclusion.medical_reasons))  # fmt: skip
    return steps


def _decide(
    clock: Clock, steps: list[Step], closed: list[MedicallyCausedWait],
    records: list[ExclusionRecord], trace: list[TraceStep], source: str,
) -> Clock:  # fmt: skip
    if not steps:
        trace.append(rr.OPEN.step(f"no end recorded yet; deadline {clock.deadline}"))  # fmt: skip
        return replace(clock, exclusions=tuple(records), trace=tuple(trace))
    step = min(steps, key=lambda s: (s.at, s.reason is not None))
    day = swedish_date(step.at)
    days = days_between(clock.start_at, step.at) - paused_before(closed, clock.start_at, day)
    within = day <= clock.deadline
    stopped = replace(clock, end_at=step.at, days=days, basis=step.basis)
    verdict = f"{step.basis} on {day}, day {days}"
    if step.reason is None:
        status = ClockStatus.met if within else ClockStatus.breached
        trace.append((rr.MET if within else rr.BREACHED).step(
            f"{verdict}: {'within' if within else 'after'} the limit", source))  # fmt: skip
        return replace(stopped, status=status, exclusions=tuple(records), trace=tuple(trace))
    if not within:
        trace.append(rr.BREACHED.step(f"{verdict}: after the limit, which it cannot hide"))
        return replace(stopped, status=ClockStatus.breached, basis=f"{step.basis} after the "
                       "limit", exclusions=tuple(records), trace=tuple(trace))  # fmt: skip
    records.append(ExclusionRecord(step.reason, day, step.basis))
    trace.append(rr.EXCLUDED.step(f"{verdict}: {step.reason.value} from that day"))  # fmt: skip
    return replace(stopped, status=ClockStatus.excluded, reason=step.reason,
                   exclusions=tuple(records), trace=tuple(trace))  # fmt: skip
