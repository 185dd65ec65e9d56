"""Whether the home region is obliged to pay: referrals (R8, R21) and assessments (R9, C4).

Pure, like the engine that calls it: each check adds its own trace steps to the ``Case`` the
engine is deciding, through the rule registry (routing.kernel.rules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from routing.episodes.vocabulary import AssessmentOutcome, CareLevel
from routing.kernel import rules as rr
from routing.kernel.calendar import swedish_date
from routing.kernel.rules import TraceStep
from routing.liability.decision import LiabilityDecision, LiabilityStatus
from routing.liability.facts import AssessmentFact, ContactFacts
from routing.reference.catalogue import Catalogue
from routing.reference.tariffs import PriceCategory


@dataclass(slots=True)
class Case:
    """One contact being decided: its facts, what the decision says so far, and its trace."""

    facts: ContactFacts
    catalogue: Catalogue
    trace: list[TraceStep]
    base: dict[str, Any]
    flags: list[str]
    on: date = field(default=date.min)
    category: PriceCategory = PriceCategory.doctor
    price_list: int = 0
    add: Callable[[TraceStep], None] = field(init=False)
    """Appends a step to the trace (the list's own ``append``: a rule adds a dozen a contact)."""

    def __post_init__(self) -> None:
        self.add = self.trace.append

    def decision(self, status: LiabilityStatus, **fields: Any) -> LiabilityDecision:
        return LiabilityDecision(
            **self.base, **fields, status=status, flags=tuple(self.flags), trace=tuple(self.trace)
        )


def inpatient(c: Case) -> LiabilityDecision:
    """R21: planned inpatient care in another region after the home region established the
    need by referral is the home region's to pay (Riksavtalet's recommendation); without such
    a referral the home region's prior approval is needed, which is not recorded here."""
    f = c.facts
    referral = next(
        (r for r in sorted(f.referrals, key=lambda r: r.issued_at)
         if r.target_care_level is CareLevel.inpatient and r.target_region == f.care_region
         and r.status != "rejected" and f.started_at is not None
         and r.issued_at <= f.started_at),
        None,
    )  # fmt: skip
    if referral is None or not f.out_of_region:
        c.add(
            rr.R8.step(
                "inpatient care by patient choice needs the home region's prior "
                "approval (Riksavtal 4.2), which this system does not record"
            )
        )
        return c.decision(LiabilityStatus.pending)
    c.add(rr.R21.step(
        f"planned inpatient care in region {f.care_region} after region "
        f"{f.home_county}'s referral {referral.referral_id} of "
        f"{swedish_date(referral.issued_at).isoformat()}: the home region pays",
    ))  # fmt: skip
    c.add(rr.R11.step("inpatient care is priced per DRG, outside these price lists: no amount"))
    c.flags.append("inpatient_priced_outside")
    return c.decision(
        LiabilityStatus.home_region_liable,
        paying_region=f.home_county,
        receiving_region=f.care_region,
    )


def referral_missing(c: Case) -> bool:
    """R8: the home region need not pay if it requires a referral and none was obtained.
    R21: a self-referral is possible only where the care region requires none either; the
    care region's rule does not change who pays (HSL 8 kap. 3 §), so it is only flagged."""
    f, on = c.facts, c.on
    spec = f.specialty.value if f.specialty else "*"
    what = f"{f.care_level.value} care" + (f" ({spec})" if f.specialty else "")
    ok = any(
        r.target_region == f.care_region
        and r.status != "rejected"
        and f.started_at is not None
        and r.issued_at <= f.started_at
        and (r.specialty is None or f.specialty is None or r.specialty == f.specialty)
        for r in f.referrals
    )
    care = c.catalogue.referral_required(f.care_region, f.care_level, on, spec)
    if care is not None and care.required and care.applies_to(f.age_band) and not ok:
        c.add(rr.R21.step(f"region {f.care_region} requires a referral for {what}: a "
                          "self-referral there is not possible (its rule does not change who "
                          "pays)", care.source))  # fmt: skip
    requirement = c.catalogue.referral_required(f.home_county, f.care_level, on, spec)
    binding = requirement is not None and requirement.required
    if requirement is None or not binding or not requirement.applies_to(f.age_band):
        c.add(rr.R8.step(f"region {f.home_county} requires no referral for {what}"
                         + (" at this age" if binding else ""),
                         requirement.source if requirement else rr.NO_REQUIREMENT))  # fmt: skip
        return False
    c.add(rr.R8.step(f"region {f.home_county} requires a referral for {what}: "
                     f"{'obtained' if ok else 'none obtained'}", requirement.source))  # fmt: skip
    return not ok


def adequate_assessment(c: Case) -> tuple[bool, bool]:
    """R9 + C4: was the contact preceded by an adequate assessment by the care region's
    criteria? Returns (adequate, recorded late)."""
    f = c.facts
    if not f.assessments:
        c.add(rr.R9.step("no need-and-suitability assessment recorded: home region not obliged"))
        return False, False
    for a in sorted(f.assessments, key=lambda a: a.occurred_at):
        problem = assessment_problem(a, f, c.catalogue)
        if problem is None:
            late = recorded_late(a.recorded_at, f.started_recorded_at)
            c.add(rr.C4.step(
                f"assessment {a.criteria_set_id}@{a.criteria_version} at "
                f"{a.occurred_at.isoformat()} preceded the contact and is adequate"
                + (" (documented after the contact: flagged, C2)" if late else ""),
            ))  # fmt: skip
            return True, late
        c.add(rr.C4.step(f"assessment {a.criteria_set_id}@{a.criteria_version}: {problem}"))
    c.add(rr.R9.step("no adequate assessment preceded the contact: home region not obliged"))
    return False, False


def recorded_late(learnt: datetime | None, dependent_learnt: datetime | None) -> bool:
    """C9: an assessment is late when we learnt it after the contact that depends on it (its
    start) had already been recorded; posting it after it occurred is not late (a whole episode
    posted in order in one batch has no late fact). Unknown times: not late."""
    return learnt is not None and dependent_learnt is not None and learnt > dependent_learnt


def assessment_problem(a: AssessmentFact, facts: ContactFacts, catalogue: Catalogue) -> str | None:
    """Why an assessment is not adequate under R9 + C4 for this contact (None: adequate)."""
    assert facts.started_at is not None
    if a.occurred_at >= facts.started_at:
        return "made after the contact started; it must precede it (C2 compares occurred_at)"
    criteria = catalogue.criteria_set(a.criteria_set_id, a.criteria_version)
    if criteria is None:
        return "unknown criteria set"
    day = swedish_date(a.occurred_at)
    if not criteria.adopted_by_on(facts.care_region, day):
        return (
            f"criteria not adopted by the care region {facts.care_region} on "
            f"{day.isoformat()} (adopted by {', '.join(criteria.adopted_by) or 'none'})"
        )
    missing = set(criteria.required_criteria) - a.answered
    if missing:
        return f"required criteria not answered: {', '.join(sorted(missing))}"
    if not a.assessor_licensed or a.assessor_profession not in criteria.allowed_professions:
        return f"assessor ({a.assessor_profession.value}) not allowed by the criteria set"
    if a.outcome is not AssessmentOutcome.distance_suitable:
        return "outcome was physical_required"
    return None
