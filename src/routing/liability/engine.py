"""The liability function: contact facts + rulebook + reference data -> decision and trace.

Pure and deterministic: no I/O, no clock. The live routing API, the liability projection,
replay and policy simulation all call ``decide`` and so cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from routing.episodes.vocabulary import AssessmentOutcome, CareLevel, ContactContent
from routing.liability.decision import LiabilityDecision, LiabilityStatus, TraceStep
from routing.liability.facts import AssessmentFact, ContactFacts
from routing.liability.rulebooks import RulebookId, RulebookPolicy, swedish_date
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions

SRC_RIKSAVTAL = "Riksavtalet för utomlänsvård; HSL 8 kap. 3 §"
SRC_DS = "Ds 2023:27 (proposal, not confirmed enacted); Stockholms stad PM KS 2023/977"
SRC_R2 = "docs/domain.md R2; VGR Hur fungerar digitala vårdbesök?"
SRC_PRICE = "docs/domain.md R11 (the care region's out-of-region price list)"
SRC_INPATIENT = (
    "Riksavtalet för utomlänsvård (its recommendation on planned inpatient care, "
    "SOU 2021:59 §3.3.2)"
)
CREDIT_NO_REFERRAL = 5  # Inera reasonForCredit: no valid referral or betalningsförbindelse
CREDIT_NOT_BILLABLE = 9  # Inera reasonForCredit: item not billable (e.g. telephone advice)


@dataclass
class _Trace:
    steps: list[TraceStep] = field(default_factory=list)

    def add(self, rule: str, finding: str, source: str) -> None:
        self.steps.append(TraceStep(rule=rule, finding=finding, source=source))


def decide(
    facts: ContactFacts, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions
) -> LiabilityDecision:
    trace = _Trace()
    base: dict[str, Any] = {
        "episode_id": facts.episode_id,
        "contact_id": facts.contact_id,
        "home_region": facts.home_county,
        "home_municipality": facts.home_municipality,
        "care_region": facts.care_region,
        "care_unit_id": facts.care_unit_id,
        "provider_id": facts.provider_id,
        "rulebook_policy": policy.label,
        "reference_version": catalogue.version,
        "mode": facts.mode.value if facts.mode else None,
        "distance_contact": (
            None
            if facts.mode is None
            else facts.mode.is_distance and facts.care_level is not CareLevel.inpatient
        ),
        "out_of_region": facts.out_of_region,
        "profession": facts.profession.value if facts.profession else None,
    }
    if facts.status != "completed" or facts.started_at is None or facts.profession is None:
        trace.add("C3", f"contact is {facts.status}: nothing to decide yet", "docs/domain.md C3")
        return LiabilityDecision(
            **base, status=LiabilityStatus.pending, rulebook="none", trace=tuple(trace.steps)
        )

    rulebook = policy.for_contact(facts.started_at)
    on = swedish_date(facts.started_at)
    base |= {"rulebook": rulebook.value, "contact_date": on}
    trace.add(
        "C1",
        f"contact started {on.isoformat()} (Swedish time): "
        f"rulebook {rulebook.value} ({policy.label})",
        "docs/domain.md C1",
    )
    category = catalogue.price_category(facts.profession)
    base["price_category"] = category.value
    flags: list[str] = ["home_region_corrected"] if facts.home_region_corrected else []

    if facts.content is ContactContent.advice_only:
        trace.add(
            "R3",
            "advice only, not a qualified care contact: not billable",
            "SOU 2021:59; Inera credit reason 9",
        )
        return LiabilityDecision(
            **base,
            status=LiabilityStatus.not_billable,
            patient_fee=0,
            credit_reason=CREDIT_NOT_BILLABLE,
            flags=tuple(flags),
            trace=tuple(trace.steps),
        )
    if facts.care_level is CareLevel.inpatient:
        return _inpatient(facts, base, flags, trace)

    distance = facts.is_distance
    assert facts.mode is not None
    if not facts.out_of_region:
        fee = catalogue.patient_fee(facts.care_region, category, facts.mode, facts.care_level, on)
        trace.add("R2", f"home region {facts.home_county} is the care region: no invoice", SRC_R2)
        trace.add(
            "R13", f"patient pays region {facts.care_region}'s fee: {fee.amount} SEK", fee.source
        )
        return LiabilityDecision(
            **base,
            status=LiabilityStatus.in_region,
            patient_fee=fee.amount,
            fee_schedule_region=facts.care_region,
            fee_schedule_is_default=fee.is_default,
            flags=tuple(flags),
            trace=tuple(trace.steps),
        )

    trace.add(
        "R2",
        f"home region {facts.home_county} ≠ care region {facts.care_region}: out-of-region "
        f"{'distance contact' if distance else 'physical visit'}",
        "docs/domain.md R1; Socialstyrelsens termbank",
    )
    care = regions.by_county(facts.care_region)
    price_list = care.price_list or regions.price_list(facts.care_region, care.seat)
    hc_region = regions.healthcare_region(facts.care_region, care.seat)
    price = catalogue.price(price_list, facts.care_level, facts.mode, category, on)
    base |= {
        "price_list": price_list,
        "price_list_name": hc_region.value,
        "riksavtal_chapter": "4.1",
    }
    if price is None:
        trace.add(
            "R11",
            f"no price on list {price_list} for {category.value} {facts.mode.value} "
            f"on {on.isoformat()}",
            SRC_PRICE,
        )
        return LiabilityDecision(
            **base, status=LiabilityStatus.pending, flags=tuple(flags), trace=tuple(trace.steps)
        )
    trace.add(
        "R11",
        f"price list {price_list} ({hc_region.value}): {category.value}, "
        f"{'distance' if distance else 'physical'}, {facts.care_level.value}: {price.amount} SEK",
        price.source,
    )
    reimbursement = catalogue.reimbursement(facts.care_region, category, facts.mode, on)
    if reimbursement is not None:
        trace.add(
            "R12",
            f"region {facts.care_region} pays its provider {reimbursement.amount} SEK",
            reimbursement.source,
        )

    fee_region = facts.care_region
    if rulebook is RulebookId.ds_2023_27 and distance:
        fee_region = facts.home_county
        trace.add(
            "R14", "out-of-region distance contact: the home region's fee applies (C5)", SRC_DS
        )
    else:
        trace.add("R13", "the patient pays the care region's fee", SRC_RIKSAVTAL)
    fee = catalogue.patient_fee(fee_region, category, facts.mode, facts.care_level, on)
    trace.add(
        "R13" if fee_region == facts.care_region else "R14",
        f"fee schedule of region {fee_region}: {fee.amount} SEK"
        + (" (default schedule: region has none)" if fee.is_default else ""),
        fee.source,
    )
    money = {
        "patient_fee": fee.amount,
        "fee_schedule_region": fee_region,
        "fee_schedule_is_default": fee.is_default,
        "provider_reimbursement": reimbursement.amount if reimbursement else None,
    }

    not_obliged = _referral_missing(facts, catalogue, on, trace)
    credit = CREDIT_NO_REFERRAL if not_obliged else None
    if not not_obliged and rulebook is RulebookId.ds_2023_27 and distance:
        adequate, late = _adequate_assessment(facts, catalogue, trace)
        if late:
            flags.append("assessment_recorded_late")
        not_obliged = not adequate
        credit = CREDIT_NO_REFERRAL if not_obliged else None
    elif rulebook is RulebookId.ds_2023_27:
        trace.add("R9", "physical out-of-region visit: Riksavtalet's rules unchanged", SRC_DS)

    if not_obliged:
        trace.add(
            "C3",
            f"home region not obliged: region {facts.care_region} bears the cost",
            "docs/domain.md C3",
        )
        return LiabilityDecision(
            **base,
            **money,
            status=LiabilityStatus.home_region_not_obliged,
            paying_region=facts.care_region,
            credit_reason=credit,
            flags=tuple(flags),
            trace=tuple(trace.steps),
        )
    trace.add(
        "R8",
        f"region {facts.home_county} pays region {facts.care_region} "
        f"{price.amount} SEK (Riksavtal 4.1)",
        SRC_RIKSAVTAL,
    )
    return LiabilityDecision(
        **base,
        **money,
        status=LiabilityStatus.home_region_liable,
        paying_region=facts.home_county,
        receiving_region=facts.care_region,
        invoiced_amount=price.amount,
        flags=tuple(flags),
        trace=tuple(trace.steps),
    )


def _inpatient(
    facts: ContactFacts, base: dict[str, Any], flags: list[str], trace: _Trace
) -> LiabilityDecision:
    """R21: planned inpatient care in another region after the home region established the
    need by referral is the home region's to pay (Riksavtalet's recommendation); without such
    a referral the home region's prior approval is needed, which is not recorded here."""
    referral = next(
        (r for r in sorted(facts.referrals, key=lambda r: r.issued_at)
         if r.target_care_level is CareLevel.inpatient and r.target_region == facts.care_region
         and r.status != "rejected" and facts.started_at is not None
         and r.issued_at <= facts.started_at),
        None,
    )  # fmt: skip
    if referral is None or not facts.out_of_region:
        trace.add(
            "R8",
            "inpatient care by patient choice needs the home region's prior approval "
            "(Riksavtal 4.2), which this system does not record",
            SRC_RIKSAVTAL,
        )
        return LiabilityDecision(
            **base, status=LiabilityStatus.pending, flags=tuple(flags), trace=tuple(trace.steps)
        )
    trace.add(
        "R21",
        f"planned inpatient care in region {facts.care_region} after region "
        f"{facts.home_county}'s referral {referral.referral_id} of "
        f"{swedish_date(referral.issued_at).isoformat()}: the home region pays",
        SRC_INPATIENT,
    )
    trace.add("R11", "inpatient care is priced per DRG, outside these price lists: no amount",
              SRC_PRICE)  # fmt: skip
    return LiabilityDecision(
        **base,
        status=LiabilityStatus.home_region_liable,
        paying_region=facts.home_county,
        receiving_region=facts.care_region,
        flags=(*flags, "inpatient_priced_outside"),
        trace=tuple(trace.steps),
    )


def _referral_missing(facts: ContactFacts, catalogue: Catalogue, on: Any, trace: _Trace) -> bool:
    """R8: the home region need not pay if it requires a referral and none was obtained.
    R21: a self-referral is possible only where the care region requires none either; the
    care region's rule does not change who pays (HSL 8 kap. 3 §), so it is only flagged."""
    spec = facts.specialty.value if facts.specialty else "*"
    what = f"{facts.care_level.value} care" + (f" ({spec})" if facts.specialty else "")
    ok = any(
        r.target_region == facts.care_region
        and r.status != "rejected"
        and facts.started_at is not None
        and r.issued_at <= facts.started_at
        and (r.specialty is None or facts.specialty is None or r.specialty == facts.specialty)
        for r in facts.referrals
    )
    care = catalogue.referral_required(facts.care_region, facts.care_level, on, spec)
    if care is not None and care.required and care.applies_to(facts.age_band) and not ok:
        trace.add(
            "R21",
            f"region {facts.care_region} requires a referral for {what}: a self-referral there "
            "is not possible (its rule does not change who pays)",
            care.source,
        )
    requirement = catalogue.referral_required(facts.home_county, facts.care_level, on, spec)
    binding = requirement is not None and requirement.required
    if requirement is None or not binding or not requirement.applies_to(facts.age_band):
        trace.add(
            "R8",
            f"region {facts.home_county} requires no referral for {what}"
            + (" at this age" if binding else ""),
            requirement.source if requirement else "no referral requirement recorded",
        )
        return False
    trace.add(
        "R8",
        f"region {facts.home_county} requires a referral for {what}: "
        f"{'obtained' if ok else 'none obtained'}",
        requirement.source,
    )
    return not ok


def _adequate_assessment(
    facts: ContactFacts, catalogue: Catalogue, trace: _Trace
) -> tuple[bool, bool]:
    """R9 + C4: was the contact preceded by an adequate assessment by the care region's
    criteria? Returns (adequate, recorded late)."""
    if not facts.assessments:
        trace.add(
            "R9", "no need-and-suitability assessment recorded: home region not obliged", SRC_DS
        )
        return False, False
    for a in sorted(facts.assessments, key=lambda a: a.occurred_at):
        problem = assessment_problem(a, facts, catalogue)
        if problem is None:
            late = recorded_late(a.recorded_at, facts.started_recorded_at)
            trace.add(
                "C4",
                f"assessment {a.criteria_set_id}@{a.criteria_version} at "
                f"{a.occurred_at.isoformat()} preceded the contact and is adequate"
                + (" (documented after the contact: flagged, C2)" if late else ""),
                SRC_DS,
            )
            return True, late
        trace.add("C4", f"assessment {a.criteria_set_id}@{a.criteria_version}: {problem}", SRC_DS)
    trace.add("R9", "no adequate assessment preceded the contact: home region not obliged", SRC_DS)
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
