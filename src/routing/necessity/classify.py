"""C6: was a physical visit necessary, the patient's choice, unassessed, or avoidable?

Pure and deterministic (no I/O, no clock): the projection calls ``classify`` every time an
episode's facts change, so a late-recorded assessment that occurred before the visit changes
the class (C2). The order of the tests is the order of the rules:

1. A licensed judgement (R6) before the visit that physical care is required (a failed R5
   principle) makes the visit ``necessary``; the failed principles are its reason codes.
2. Otherwise a distance offer made before the visit and declined makes it
   ``patient_preference`` (R6: permitted, not necessary). A patient who declines because they
   cannot use digital tools must be offered telephone (R6): only an offer that included phone
   counts then; a decline of a chat/video-only offer shows the duty unmet instead.
3. Otherwise a licensed ``distance_suitable`` judgement makes the visit ``avoidable``; with no
   valid offer before the visit it is an offer-duty breach (R4) under the ds-2023-27 rulebook
   (by the visit's date in Swedish time, C1), and in outpatient care only (R1).
4. Otherwise no judgement was recorded: ``unassessed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from routing.episodes.vocabulary import AssessmentOutcome, ContactMode, DeclineReason
from routing.kernel import rules as rr
from routing.kernel.calendar import swedish_date
from routing.kernel.rules import Rule, TraceStep
from routing.liability.rulebooks import RulebookId, RulebookPolicy
from routing.necessity.facts import Judgement, Offer, VisitFacts


class VisitClass(StrEnum):
    necessary = "necessary"
    patient_preference = "patient_preference"
    unassessed = "unassessed"
    avoidable = "avoidable"


class JudgementRef(BaseModel):
    """The assessment the class rests on."""

    model_config = ConfigDict(frozen=True)

    outcome: AssessmentOutcome
    failed_principles: tuple[str, ...]
    assessor_profession: str
    criteria: str
    occurred_at: datetime
    recorded_at: datetime | None
    recorded_late: bool


class NecessityClassification(BaseModel):
    model_config = ConfigDict(frozen=True)

    episode_id: str
    contact_id: str
    care_region: str
    care_unit_id: str
    """Where the visit was booked and held."""
    requested_unit_id: str
    """The unit the patient first contacted."""
    visit_at: datetime
    visit_date: date
    month: str
    classification: VisitClass
    offer_duty_breach: bool = False
    rulebook: str
    rulebook_policy: str
    reason_codes: tuple[str, ...] = ()
    """Failed principles (necessary), decline reasons (patient_preference), or why a visit was
    avoidable or left unassessed (no_distance_offer, telephone_not_offered...)."""
    flags: tuple[str, ...] = ()
    judgement: JudgementRef | None = None
    trace: tuple[TraceStep, ...] = ()


@dataclass
class _Trace:
    steps: list[TraceStep] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def add(self, rule: Rule, finding: str, source: str | None = None) -> None:
        self.steps.append(rule.step(finding, source))

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)


@dataclass(frozen=True)
class _Offers:
    valid: tuple[Offer, ...]  # made before the visit and fit for this patient (R6)
    declined: tuple[Offer, ...]  # valid and declined
    phone_missing: bool  # the patient cannot use digital tools and was never offered phone


def classify(v: VisitFacts, policy: RulebookPolicy) -> NecessityClassification:
    """Classifies a held physical visit; raises ValueError for a visit not held."""
    if v.held_at is None:
        raise ValueError(f"contact {v.contact_id}: no physical visit held, nothing to classify")
    at = v.held_at
    rulebook = policy.for_contact(at)
    day = swedish_date(at)
    t = _Trace()
    t.add(rr.C1, f"visit held {day.isoformat()} (Swedish time): rulebook {rulebook.value} "
          f"({policy.label})", rr.choice(1))  # fmt: skip
    judgement = _judgement(v.judgements, at, v.held_recorded_at, t)
    offers = _offers(v.offers, at, t)

    def done(
        kind: VisitClass, codes: tuple[str, ...], breach: bool = False
    ) -> NecessityClassification:
        return NecessityClassification(
            episode_id=v.episode_id, contact_id=v.contact_id, care_region=v.care_region,
            care_unit_id=v.care_unit_id, requested_unit_id=v.requested_unit_id, visit_at=at,
            visit_date=day, month=day.strftime("%Y-%m"), classification=kind,
            offer_duty_breach=breach, rulebook=rulebook.value, rulebook_policy=policy.label,
            reason_codes=codes, flags=tuple(t.flags), judgement=_ref(judgement, v.held_recorded_at),
            trace=tuple(t.steps),
        )  # fmt: skip

    if judgement is not None and judgement.outcome is AssessmentOutcome.physical_required:
        codes = tuple(p.value for p in judgement.failed_principles)
        t.add(rr.R5, f"failed principle(s): {', '.join(codes)}: distance care cannot be offered",
              rr.PRINCIPLES)  # fmt: skip
        t.add(rr.C6, "licensed judgement that physical care is required: necessary", rr.choice(6))
        return done(VisitClass.necessary, codes)
    if offers.declined:
        reasons = tuple(
            sorted({o.decline_reason.value for o in offers.declined if o.decline_reason})
        )
        t.add(rr.R6, "the patient declined the distance contact offered and chose a physical "
              "visit: permitted, not necessary", rr.LICENSED)  # fmt: skip
        t.add(rr.C6, "distance offered and declined: patient preference", rr.choice(6))
        return done(VisitClass.patient_preference, reasons)
    if judgement is not None:  # distance_suitable
        codes, breach = _avoidable(v, offers, rulebook, t)
        return done(VisitClass.avoidable, codes, breach)
    t.add(
        rr.C6,
        "no licensed need-and-suitability judgement before the visit: unassessed",
        rr.choice(6),
    )
    return done(VisitClass.unassessed, ("telephone_not_offered",) if offers.phone_missing else ())


def _avoidable(
    v: VisitFacts, offers: _Offers, rulebook: RulebookId, t: _Trace
) -> tuple[tuple[str, ...], bool]:
    """Reason codes and whether it is an offer-duty breach, for a visit judged suitable for
    distance that the patient did not decline."""
    if offers.valid:
        t.add(rr.R4, "a distance contact was offered before the visit (not declined): the offer "
              "duty was met", rr.DS_OFFER)  # fmt: skip
        t.add(rr.C6, "judged suitable for distance yet seen physically: avoidable", rr.choice(6))
        return ("offer_not_declined",), False
    code = "telephone_not_offered" if offers.phone_missing else "no_distance_offer"
    t.add(rr.C6, "judged suitable for distance but no distance contact offered before the "
          "visit: avoidable", rr.choice(6))  # fmt: skip
    if not v.care_level.is_outpatient:
        t.flag("inpatient")
        t.add(rr.R4, "the offer duty covers outpatient care only: not a breach", rr.DS_OFFER)
        return (code,), False
    if rulebook is not RulebookId.ds_2023_27:
        t.add(rr.R4, f"offer duty is regional practice under the {rulebook.value} rulebook: "
              "not a breach", rr.DS_OFFER)  # fmt: skip
        return (code,), False
    t.add(rr.R4, "the region shall offer a distance contact unless physical care is judged "
          "necessary: offer-duty breach", rr.DS_OFFER)  # fmt: skip
    return (code,), True


def _judgement(
    judgements: tuple[Judgement, ...], at: datetime, held_learnt: datetime | None, t: _Trace
) -> Judgement | None:
    """The latest licensed assessment that occurred before the visit (C2: occurred_at)."""
    for j in judgements:
        if j.occurred_at >= at:
            t.flag("assessment_after_visit")
            t.add(rr.C2, f"assessment {j.criteria} at {j.occurred_at.isoformat()} was made after "
                  "the visit: it does not count", rr.choice(2))  # fmt: skip
        elif not j.assessor_licensed:
            t.flag("unlicensed_assessment_ignored")
            t.add(rr.R6, f"assessment by an unlicensed {j.assessor_profession.value} ignored: the "
                  "judgement belongs to licensed staff", rr.LICENSED)  # fmt: skip
    licensed = [j for j in judgements if j.occurred_at < at and j.assessor_licensed]
    if not licensed:
        return None
    j = sorted(licensed, key=lambda x: x.occurred_at)[-1]  # stable: last recorded of a tie
    late = _late(j, held_learnt)
    if late:
        t.flag("assessment_recorded_late")
    t.add(rr.R6, f"licensed {j.assessor_profession.value} judged {j.outcome.value} at "
          f"{j.occurred_at.isoformat()} ({j.criteria})"
          + ("; documented after the visit: flagged (C2)" if late else "")
          + ("; the latest of several judgements counts" if len(licensed) > 1 else ""),
          rr.LICENSED)  # fmt: skip
    return j


def _offers(offers: tuple[Offer, ...], at: datetime, t: _Trace) -> _Offers:
    before = [o for o in offers if o.offered_at < at]
    for o in offers:
        modes = ", ".join(sorted(m.value for m in o.modes))
        answer = o.answer or "unanswered"
        if o.decline_reason is not None:
            answer += f" ({o.decline_reason.value})"
        when = "before" if o.offered_at < at else "after (does not count)"
        t.add(rr.R4, f"distance contact offered {o.offered_at.isoformat()} [{modes}], {when} the "
              f"visit: {answer}", rr.DS_OFFER)  # fmt: skip
    cannot = any(o.decline_reason is DeclineReason.cannot_use_digital_tools for o in before)
    valid = tuple(o for o in before if not cannot or ContactMode.phone in o.modes)
    if cannot:
        t.flag("cannot_use_digital_tools")
        t.add(rr.R6, "the patient cannot use digital tools: telephone must be offered; "
              + ("it was" if valid else "it was not"), rr.PHONE)  # fmt: skip
        if not valid:
            t.flag("telephone_not_offered")
    declined = tuple(o for o in valid if o.answer == "declined")
    return _Offers(valid=valid, declined=declined, phone_missing=cannot and not valid)


def _late(j: Judgement, held_learnt: datetime | None) -> bool:
    """C9: learnt after the visit it should precede had been recorded."""
    return j.recorded_at is not None and held_learnt is not None and j.recorded_at > held_learnt


def _ref(j: Judgement | None, held_learnt: datetime | None) -> JudgementRef | None:
    if j is None:
        return None
    return JudgementRef(
        outcome=j.outcome, failed_principles=tuple(p.value for p in j.failed_principles),
        assessor_profession=j.assessor_profession.value, criteria=j.criteria,
        occurred_at=j.occurred_at, recorded_at=j.recorded_at, recorded_late=_late(j, held_learnt),
    )  # fmt: skip
