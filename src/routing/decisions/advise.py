"""The routing decision: pure, from the question's facts, the rulebook and the reference data.

It answers what a front-end must do now (R4-R7) and what the money would look like (R8-R14,
through the liability engine's own ``decide``, so a preview can never disagree with the bill).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from functools import lru_cache

from routing.decisions.question import (
    DistanceOffer,
    EntryPointOut,
    ModePrice,
    OwnRegionFirst,
    RoutingAnswer,
    RoutingQuestion,
)
from routing.episodes.vocabulary import (
    DISTANCE_MODES,
    CareLevel,
    ContactContent,
    ContactMode,
    Urgency,
)
from routing.kernel import rules as rr
from routing.kernel.calendar import swedish_date
from routing.kernel.rules import TraceStep
from routing.liability.decision import LiabilityDecision
from routing.liability.engine import assessment_problem, decide
from routing.liability.facts import AssessmentFact, ContactFacts
from routing.liability.rulebooks import RulebookId, RulebookPolicy
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions
from routing.reference.tariffs import NoFeeSchedule

PREVIEW_MINUTES = 15  # the imagined contact's length: its end's date can matter to the bill
ALL_DISTANCE = [ContactMode.video, ContactMode.phone, ContactMode.chat, ContactMode.async_message]


def advise(
    q: RoutingQuestion, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions
) -> RoutingAnswer:
    trace: list[TraceStep] = []
    rulebook = policy.for_contact(q.planned_start)
    on = swedish_date(q.planned_start)
    trace.append(rr.C1.step(f"contact would start {on.isoformat()}: rulebook {rulebook.value}"))
    home = q.home_region.county
    care = q.care_region or home
    emergency = q.triage is not None and q.triage.urgency is Urgency.emergency
    physical_required = _r1_r5_physical(q, emergency, trace)
    modes = [] if physical_required else _modes(q)
    duty = _r4_r6_offer(q, rulebook, physical_required, trace)
    distance = q.requested_mode.is_distance and not physical_required
    own_first = distance and care != home
    if own_first:
        trace.append(rr.R7.step(f"the patient's own region ({home}) should be the first "
                                "digital door"))  # fmt: skip
    needs_assessment = own_first and rulebook is RulebookId.ds_2023_27
    facts = _facts(q, care)
    adequate = _r9_adequate(facts, catalogue, trace) if needs_assessment else None
    preview: LiabilityDecision | None = None
    priced: list[ModePrice] = []
    if not emergency:
        preview, priced = _preview(facts, modes, (policy, catalogue, regions), trace)
    return RoutingAnswer(
        request_id=q.request_id,
        rulebook=rulebook.value,
        reference_version=catalogue.version,
        advice="seek_emergency_care" if emergency else (
            "physical_visit" if physical_required else "offer_distance"
        ),
        distance_offer=DistanceOffer(
            must_offer=duty == "ds-2023-27",
            duty=duty,
            modes=modes,
            physical_required=physical_required,
            failed_principles=list(q.assessment.failed_principles) if q.assessment else [],
        ),
        own_region_first=OwnRegionFirst(
            applies=own_first, home_region=home,
            entry_points=_entry_points(catalogue, home, on, q.care_level),
        ),
        assessment_needed_for_home_region_to_pay=needs_assessment,
        assessment_adequate=adequate,
        liability_preview=preview,
        expected_patient_fee=preview.patient_fee if preview else None,
        offered_modes_priced=priced,
        trace=trace,
    )  # fmt: skip


def _r1_r5_physical(q: RoutingQuestion, emergency: bool, trace: list[TraceStep]) -> bool:
    """Whether physical care is required: an emergency (R4), inpatient care (R1: a distance
    contact is outpatient care) or a failed principle (R5)."""
    failed = list(q.assessment.failed_principles) if q.assessment else []
    if emergency:
        trace.append(rr.R4.step("triage says emergency: send to emergency care, no distance "
                                "contact", rr.SOCIALSTYRELSEN))  # fmt: skip
    elif q.care_level is CareLevel.inpatient:
        trace.append(rr.R1.step("inpatient care: a distance contact is outpatient care only"))
    elif failed:
        trace.append(rr.R5.step("physical care is required: failed "
                                + ", ".join(p.value for p in failed)))  # fmt: skip
    elif q.assessment is not None:
        trace.append(rr.R5.step("all four principles hold: a distance contact can be offered"))
    return emergency or q.care_level is CareLevel.inpatient or bool(failed)


def _r4_r6_offer(
    q: RoutingQuestion, rulebook: RulebookId, physical_required: bool, trace: list[TraceStep]
) -> str:
    """The offer duty (R4: the proposal's from its date, regional practice before) and the
    patient's side of it (R6: telephone for those who cannot use digital tools, and the
    freedom to choose a physical visit)."""
    if not q.can_use_digital_tools and not physical_required:
        trace.append(rr.R6.step("the patient cannot use digital tools: offer telephone",
                                rr.SOCIALSTYRELSEN))  # fmt: skip
    duty = "none" if physical_required else (
        "ds-2023-27" if rulebook is RulebookId.ds_2023_27 else "regional-practice"
    )  # fmt: skip
    if duty == "ds-2023-27":
        trace.append(rr.R4.step("the region shall offer a distance contact unless physical care "
                                "is judged necessary", rr.DS))  # fmt: skip
    elif duty == "regional-practice":
        trace.append(rr.R4.step("before the proposal's date the offer is regional practice, not "
                                "a duty", rr.OFFER_REGIONAL))  # fmt: skip
    if q.patient_prefers_physical and not physical_required:
        trace.append(rr.R6.step("the patient may still choose a physical visit: permitted, not "
                                "'necessary'", rr.PATIENT_CHOICE))  # fmt: skip
    return duty


def _r9_adequate(facts: ContactFacts, catalogue: Catalogue, trace: list[TraceStep]) -> bool:
    """R9: under the proposal the home region pays for an out-of-region distance contact only
    after an adequate assessment by the care region's criteria (C4)."""
    problems = [assessment_problem(a, facts, catalogue) for a in facts.assessments]
    adequate = any(p is None for p in problems)
    why = next((p for p in problems if p), "no assessment recorded")
    trace.append(rr.R9.step("the home region pays only after an adequate assessment by the care "
                            "region's criteria: " + ("present" if adequate else why)))  # fmt: skip
    return adequate


def _preview(
    facts: ContactFacts, modes: list[ContactMode],
    rules: tuple[RulebookPolicy, Catalogue, Regions], trace: list[TraceStep],
) -> tuple[LiabilityDecision | None, list[ModePrice]]:  # fmt: skip
    """R8-R14 through the engine's own ``decide``: the bill of the contact asked for and of each
    mode offered; none for a date no fee schedule covers (R15)."""
    preview = None
    try:
        preview = decide(facts, *rules)
        return preview, [_priced(replace(facts, mode=m), *rules) for m in modes]
    except NoFeeSchedule as exc:  # a date before (or after) every schedule: no preview
        trace.append(rr.R13.step(f"no liability preview: {exc}", rr.FEES_DATED))
        return preview, []


@lru_cache(maxsize=4096)
def _entry_points(
    catalogue: Catalogue, home: str, on: date, care_level: CareLevel
) -> list[EntryPointOut]:
    """R7's doors for a region and day: the same for every question that day, so built once
    (the catalogue is immutable; a reload is a new catalogue, hence a new cache key)."""
    return [
        EntryPointOut(name=e.name, modes=[m.value for m in e.modes], url=e.url)
        for e in catalogue.entry_points(home, on)
        if care_level in e.care_levels
    ]


def _modes(q: RoutingQuestion) -> list[ContactMode]:
    """The modes to offer: telephone only for a patient who cannot use digital tools (R6);
    otherwise every distance mode, the one asked for first."""
    if not q.can_use_digital_tools:
        return [ContactMode.phone]
    first = [q.requested_mode] if q.requested_mode in DISTANCE_MODES else []
    return first + [m for m in ALL_DISTANCE if m not in first]


def _priced(
    facts: ContactFacts, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions
) -> ModePrice:
    d = decide(facts, policy, catalogue, regions)
    assert facts.mode is not None
    return ModePrice(
        mode=facts.mode, status=d.status.value, invoiced_amount=d.invoiced_amount,
        patient_fee=d.patient_fee, fee_schedule_region=d.fee_schedule_region,
    )  # fmt: skip


def _facts(q: RoutingQuestion, care: str) -> ContactFacts:
    """The contact as it would be if it took place in the mode asked for: what the bill would
    say (the offered modes are priced one by one beside it)."""
    mode = q.requested_mode
    a = q.assessment
    assessments = () if a is None else (
        AssessmentFact(
            contact_id=None, criteria_set_id=a.criteria_set.id,
            criteria_version=a.criteria_set.version, owning_region=a.criteria_set.owning_region,
            answered=frozenset(a.answered_criteria), outcome=a.outcome,
            assessor_profession=a.assessor_profession, assessor_licensed=a.assessor_licensed,
            occurred_at=a.occurred_at, recorded_at=a.occurred_at,
        ),
    )  # fmt: skip
    return ContactFacts(
        episode_id=str(q.episode_id or q.request_id), contact_id="preview",
        home_county=q.home_region.county, home_municipality=q.home_region.municipality,
        home_region_corrected=False, care_region=care, care_level=q.care_level,
        provider_id="", care_unit_id="", requested_mode=q.requested_mode, status="completed",
        mode=mode, profession=q.profession, content=ContactContent.qualified_care,
        started_at=q.planned_start,
        completed_at=q.planned_start + timedelta(minutes=PREVIEW_MINUTES),
        assessments=assessments,
    )  # fmt: skip
