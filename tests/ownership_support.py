"""The ownership matrix (C10, docs/access.md): an episode with two providers, the front-ends
around it, one fact per (type, what it is about), and who may record each, worked out by
hand from the rules. Shared by the unit matrix and the HTTP one."""

from __future__ import annotations

from typing import Any

from routing.access import Principal, Role
from tests import support as f

HOLDER = ("SE2321000032-000001", "04")  # opened the episode (contact c1)
JOINED = ("SE2321000032-000002", "14")  # accepted referral r1 to region 14; owns contact c2
RECEIVER = ("SE2321000032-000003", "01")  # region 01: referral r2 was issued to it, unanswered
SAME_REGION_14 = ("SE2321000032-000004", "14")  # another provider of r1's target region
SAME_PROVIDER = ("SE2321000032-000001", "12")  # the holder's provider, another care region
OUTSIDER = ("SE2321000032-000005", "12")
FRONT_ENDS = {
    "holder": HOLDER,
    "joined": JOINED,
    "receiver": RECEIVER,
    "same_region_14": SAME_REGION_14,
    "same_provider": SAME_PROVIDER,
    "outsider": OUTSIDER,
}
OTHER_ROLES = [Role.routing_client, Role.finance, Role.auditor, Role.administrator]


def front_end(provider: str, region: str) -> Principal:
    return Principal("fe", frozenset({Role.front_end}), provider_id=provider, care_region=region)


def episode_bodies(ep: str) -> list[dict[str, Any]]:
    """Holder's contact c1 (completed), referrals r1 (to 14, accepted) and r2 (to 01, open),
    the joined provider's contact c2 (requested)."""
    return [
        *f.typical_journey(ep)[:8],  # c1 requested ... completed, by the holder
        f.referral_issued(ep, "r1", target_region="14"),
        f.referral_accepted(ep, "r1"),
        f.referral_issued(ep, "r2", target_region="01", target_unit_id=None),
        f.contact_requested(ep, "c2", provider_id=JOINED[0], care_region=JOINED[1]),
    ]


def variants(ep: str, provider: str, region: str) -> dict[str, dict[str, Any]]:
    """One fact per (type, what it is about); contact_requested names the principal itself."""
    c = {"contact_id": "c1"}
    return {
        "contact_requested new": f.contact_requested(
            ep, "c9", provider_id=provider, care_region=region
        ),
        "triage_completed c1": f.triage_completed(ep, **c),
        "triage_completed c2": f.triage_completed(ep, contact_id="c2"),
        "triage_completed episode": f.triage_completed(ep, contact_id=None),
        "need_and_suitability_assessed c1": f.need_and_suitability_assessed(ep, **c),
        "need_and_suitability_assessed c2": f.need_and_suitability_assessed(ep, "c2"),
        "need_and_suitability_assessed episode": f.need_and_suitability_assessed(ep, None),
        "distance_contact_offered c2": f.distance_contact_offered(ep, "c2"),
        "offer_accepted c2": f.offer_accepted(ep, "c2"),
        "offer_declined c2": f.offer_declined(ep, "c2"),
        "contact_started c2": f.contact_started(ep, "c2"),
        "contact_mode_changed c2": f.contact_mode_changed(ep, "c2"),
        "contact_completed c1": f.contact_completed(ep, "c1"),
        "physical_visit_booked c1": f.physical_visit_booked(ep, "c1"),
        "physical_visit_held c2": f.physical_visit_held(ep, "c2"),
        "contact_cancelled c1": f.contact_cancelled(ep, "c1"),
        "contact_cancelled c2": f.contact_cancelled(ep, "c2"),
        "referral_issued episode": f.referral_issued(ep, "r3"),
        "referral_accepted r1": f.referral_accepted(ep, "r1"),
        "referral_rejected r2": f.referral_rejected(ep, "r2"),
        "treatment_decided r1": f.treatment_decided(ep, referral_id="r1"),
        "treatment_decided r2": f.treatment_decided(ep, referral_id="r2"),
        "treatment_decided episode": f.treatment_decided(ep),
        "home_region_corrected episode": f.home_region_corrected(ep),
        "medical_assessment_needed c1": f.medical_assessment_needed(ep, "c1"),
        "medical_assessment_needed c2": f.medical_assessment_needed(ep, "c2"),
        "appointment_booked r1": f.appointment_booked(ep, "r1"),
        "limit_notice_given r2": f.limit_notice_given(ep, "r2"),
        "medically_caused_wait r1": f.medically_caused_wait(ep, "r1"),
        "care_declined r2": f.care_declined(ep, "r2"),
        "care_requested_again r1": f.care_requested_again(ep, "r1"),
        "other_region_chosen r2": f.other_region_chosen(ep, "r2"),
        "treatment_given t1": f.treatment_given(ep, "t1"),
        "appointment_booked t1": f.appointment_booked(ep, treatment_id="t1"),
    }


# Who may record each fact: worked out by hand from the rules in docs/access.md, not from
# the code. H = holder, J = joined, R = receiver, S14 = same_region_14, SP = same_provider.
MAY_RECORD: dict[str, set[str]] = {
    # r1 to region 14 was accepted: region 14's front-ends may open contacts (the referral
    # names a region, no provider; docs/access.md says why that is the limit)
    "contact_requested new": {"holder", "joined", "same_region_14"},
    "triage_completed c1": {"holder"},
    "triage_completed c2": {"joined"},
    "triage_completed episode": {"holder"},
    "need_and_suitability_assessed c1": {"holder"},
    "need_and_suitability_assessed c2": {"joined"},
    "need_and_suitability_assessed episode": {"holder"},
    "distance_contact_offered c2": {"joined"},
    "offer_accepted c2": {"joined"},
    "offer_declined c2": {"joined"},
    "contact_started c2": {"joined"},
    "contact_mode_changed c2": {"joined"},
    "contact_completed c1": {"holder"},
    "physical_visit_booked c1": {"holder"},
    "physical_visit_held c2": {"joined"},
    "contact_cancelled c1": {"holder"},
    "contact_cancelled c2": {"joined"},
    "referral_issued episode": {"holder"},
    "referral_accepted r1": {"holder", "joined", "same_region_14"},  # r1 goes to region 14
    "referral_rejected r2": {"holder", "receiver"},  # r2 goes to region 01
    "treatment_decided r1": {"holder", "joined", "same_region_14"},
    "treatment_decided r2": {"holder", "receiver"},
    "treatment_decided episode": {"holder"},
    "home_region_corrected episode": {"holder"},
    # care-guarantee facts follow what they are about: a contact's are its owner's, a
    # referral's are the holder's and the target region's, a treatment decided without a
    # referral (t1, none recorded) is the holder's
    "medical_assessment_needed c1": {"holder"},
    "medical_assessment_needed c2": {"joined"},
    "appointment_booked r1": {"holder", "joined", "same_region_14"},
    "limit_notice_given r2": {"holder", "receiver"},
    "medically_caused_wait r1": {"holder", "joined", "same_region_14"},
    "care_declined r2": {"holder", "receiver"},
    "care_requested_again r1": {"holder", "joined", "same_region_14"},
    "other_region_chosen r2": {"holder", "receiver"},
    "treatment_given t1": {"holder"},
    "appointment_booked t1": {"holder"},
}
