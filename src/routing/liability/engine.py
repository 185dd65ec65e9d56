"""The liability function: contact facts + rulebook + reference data -> decision and trace.

Pure and deterministic: no I/O, no clock. The live routing API, the liability projection,
replay and policy simulation all call ``decide`` and so cannot disagree.

``decide`` reads as the order the rules apply in; each rule is one small function that adds its
own trace steps (through the rule registry, routing.kernel.rules) and either settles the
decision or hands on what it found. Who must pay (R8, R9, R21) is in ``obligation``.
"""

from __future__ import annotations

from typing import Any

from routing.episodes.vocabulary import CareLevel, ContactContent
from routing.kernel import rules as rr
from routing.kernel.calendar import swedish_date
from routing.kernel.rules import CREDIT_NO_REFERRAL, CREDIT_NOT_BILLABLE
from routing.liability.decision import LiabilityDecision, LiabilityStatus
from routing.liability.facts import ContactFacts
from routing.liability.obligation import (
    Case,
    adequate_assessment,
    assessment_problem,
    inpatient,
    referral_missing,
)
from routing.liability.rulebooks import RulebookId, RulebookPolicy
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions
from routing.reference.tariffs import PriceEntry

__all__ = ["assessment_problem", "decide"]  # the routing decision previews R9 with the first


def decide(
    facts: ContactFacts, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions
) -> LiabilityDecision:
    """Who pays for one contact, how much, and why (the trace): the rules in their order."""
    c = Case(facts, catalogue, [], _base(facts, policy, catalogue), [])
    if facts.status != "completed" or facts.started_at is None or facts.profession is None:
        return _c3_not_yet(c)
    rulebook = _c1_rulebook(c, policy)
    c.category = catalogue.price_category(facts.profession)
    c.base["price_category"] = c.category.value
    c.flags = ["home_region_corrected"] if facts.home_region_corrected else []
    if facts.content is ContactContent.advice_only:
        return _r3_advice(c)
    if facts.care_level is CareLevel.inpatient:
        return inpatient(c)
    if not facts.out_of_region:
        return _r2_in_region(c)
    _r2_out_of_region(c, regions)
    price = _r11_price(c)
    if price is None:
        return c.decision(LiabilityStatus.pending)
    money = _r12_r14_money(c, rulebook)
    credit = _r8_r9_obliged(c, rulebook)
    if credit is not None:
        return _c3_care_region_bears(c, money, credit)
    return _r8_home_pays(c, money, price)


def _base(facts: ContactFacts, policy: RulebookPolicy, catalogue: Catalogue) -> dict[str, Any]:
    """What every decision carries, settled or not (C1: the policy and reference version)."""
    return {
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


def _c3_not_yet(c: Case) -> LiabilityDecision:
    """C3: a contact not completed (or missing its start or profession) is ``pending``."""
    c.add(rr.C3.step(f"contact is {c.facts.status}: nothing to decide yet"))
    return LiabilityDecision(
        **c.base, status=LiabilityStatus.pending, rulebook="none", trace=tuple(c.trace)
    )


def _c1_rulebook(c: Case, policy: RulebookPolicy) -> RulebookId:
    """C1: the rulebook is chosen by the contact's start in Swedish time."""
    assert c.facts.started_at is not None
    rulebook = policy.for_contact(c.facts.started_at)
    c.on = on = swedish_date(c.facts.started_at)
    c.base |= {"rulebook": rulebook.value, "contact_date": on}
    c.add(rr.C1.step(f"contact started {on.isoformat()} (Swedish time): "
                     f"rulebook {rulebook.value} ({policy.label})"))  # fmt: skip
    return rulebook


def _r3_advice(c: Case) -> LiabilityDecision:
    """R3: advice only is not a qualified care contact, so nothing is billable (credit 9)."""
    c.add(rr.R3.step("advice only, not a qualified care contact: not billable"))
    return c.decision(
        LiabilityStatus.not_billable, patient_fee=0, credit_reason=CREDIT_NOT_BILLABLE
    )


def _r2_in_region(c: Case) -> LiabilityDecision:
    """R2: the home region is the care region, so no invoice; R13: the care region's fee."""
    f = c.facts
    assert f.mode is not None
    category = c.category
    fee = c.catalogue.patient_fee(f.care_region, category, f.mode, f.care_level, c.on)
    c.add(rr.R2.step(f"home region {f.home_county} is the care region: no invoice"))
    c.add(rr.R13.step(f"patient pays region {f.care_region}'s fee: {fee.amount} SEK", fee.source))
    return c.decision(
        LiabilityStatus.in_region,
        patient_fee=fee.amount,
        fee_schedule_region=f.care_region,
        fee_schedule_is_default=fee.is_default,
    )


def _r2_out_of_region(c: Case, regions: Regions) -> None:
    """R2 (with R1's distance contact): home region is not the care region; the care region's
    healthcare region names the price list (Riksavtal 4.1)."""
    f = c.facts
    kind = "distance contact" if f.is_distance else "physical visit"
    c.add(rr.R2.step(f"home region {f.home_county} ≠ care region {f.care_region}: out-of-region "
                     f"{kind}", rr.R1_TERM))  # fmt: skip
    care = regions.by_county(f.care_region)
    c.price_list = care.price_list or regions.price_list(f.care_region, care.seat)
    c.base |= {
        "price_list": c.price_list,
        "price_list_name": regions.healthcare_region(f.care_region, care.seat).value,
        "riksavtal_chapter": "4.1",
    }


def _r11_price(c: Case) -> PriceEntry | None:
    """R11: the care region's out-of-region price list in force on the contact date."""
    f = c.facts
    assert f.mode is not None
    category = c.category
    price = c.catalogue.price(c.price_list, f.care_level, f.mode, category, c.on)
    if price is None:
        c.add(rr.R11.step(f"no price on list {c.price_list} for {category.value} {f.mode.value} "
                          f"on {c.on.isoformat()}"))  # fmt: skip
        return None
    c.add(rr.R11.step(
        f"price list {c.price_list} ({c.base['price_list_name']}): {category.value}, "
        f"{'distance' if f.is_distance else 'physical'}, {f.care_level.value}: {price.amount} SEK",
        price.source,
    ))  # fmt: skip
    return price


def _r12_r14_money(c: Case, rulebook: RulebookId) -> dict[str, Any]:
    """R12: what the care region pays its provider; R13/R14 (C5): whose fee the patient pays."""
    f = c.facts
    assert f.mode is not None
    category = c.category
    reimbursement = c.catalogue.reimbursement(f.care_region, category, f.mode, c.on)
    if reimbursement is not None:
        c.add(rr.R12.step(f"region {f.care_region} pays its provider {reimbursement.amount} SEK",
                          reimbursement.source))  # fmt: skip
    fee_region = f.care_region
    if rulebook is RulebookId.ds_2023_27 and f.is_distance:
        fee_region = f.home_county
        c.add(rr.R14.step("out-of-region distance contact: the home region's fee applies (C5)"))
    else:
        c.add(rr.R13.step("the patient pays the care region's fee"))
    fee = c.catalogue.patient_fee(fee_region, category, f.mode, f.care_level, c.on)
    rule = rr.R13 if fee_region == f.care_region else rr.R14
    c.add(rule.step(f"fee schedule of region {fee_region}: {fee.amount} SEK"
                    + (" (default schedule: region has none)" if fee.is_default else ""),
                    fee.source))  # fmt: skip
    return {
        "patient_fee": fee.amount,
        "fee_schedule_region": fee_region,
        "fee_schedule_is_default": fee.is_default,
        "provider_reimbursement": reimbursement.amount if reimbursement else None,
    }


def _r8_r9_obliged(c: Case, rulebook: RulebookId) -> int | None:
    """R8 (a required referral) and, under Ds 2023:27, R9 (an adequate assessment before a
    distance contact): the credit reason if the home region is not obliged, else None."""
    if referral_missing(c):
        return CREDIT_NO_REFERRAL
    if rulebook is RulebookId.ds_2023_27 and c.facts.is_distance:
        adequate, late = adequate_assessment(c)
        if late:
            c.flags.append("assessment_recorded_late")
        return None if adequate else CREDIT_NO_REFERRAL
    if rulebook is RulebookId.ds_2023_27:
        c.add(rr.R9.step("physical out-of-region visit: Riksavtalet's rules unchanged"))
    return None


def _c3_care_region_bears(c: Case, money: dict[str, Any], credit: int) -> LiabilityDecision:
    """C3: the home region is not obliged; the care region bears the cost."""
    f = c.facts
    c.add(rr.C3.step(f"home region not obliged: region {f.care_region} bears the cost"))
    return c.decision(
        LiabilityStatus.home_region_not_obliged,
        **money,
        paying_region=f.care_region,
        credit_reason=credit,
    )


def _r8_home_pays(c: Case, money: dict[str, Any], price: PriceEntry) -> LiabilityDecision:
    """R8: the home region pays the care region its price list's amount (Riksavtal 4.1)."""
    f = c.facts
    c.add(rr.R8.step(f"region {f.home_county} pays region {f.care_region} "
                     f"{price.amount} SEK (Riksavtal 4.1)"))  # fmt: skip
    return c.decision(
        LiabilityStatus.home_region_liable,
        **money,
        paying_region=f.home_county,
        receiving_region=f.care_region,
        invoiced_amount=price.amount,
    )
