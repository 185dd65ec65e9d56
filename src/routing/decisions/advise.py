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
from routing.liability.decision import TraceStep
from routing.liability.engine import SRC_DS, assessment_problem, decide
from routing.liability.facts import AssessmentFact, ContactFacts
from routing.liability.rulebooks import RulebookId, RulebookPolicy, swedish_date
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions
from routing.reference.tariffs import NoFeeSchedule

SRC_PRINCIPLES = "Socialstyrelsens övergripande principer för digitala vårdkontakter"
SRC_SOCIALSTYRELSEN = "Socialstyrelsen remissvar Ds 2023:27"
SRC_C1 = "docs/domain.md C1"
SRC_R1 = "docs/domain.md R1; Socialstyrelsens termbank"
SRC_STOCKHOLM = "Stockholms stad PM KS 2023/977"
PREVIEW_MINUTES = 15  # the imagined contact's length: its end's date can matter to the bill
ALL_DISTANCE = [ContactMode.video, ContactMode.phone, ContactMode.chat, ContactMode.async_message]


def advise(
    q: RoutingQuestion, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions
) -> RoutingAnswer:
    trace: list[TraceStep] = []

    def note(rule: str, finding: str, source: str) -> None:
        trace.append(TraceStep(rule=rule, finding=finding, source=source))

    rulebook = policy.for_contact(q.planned_start)
    on = swedish_date(q.planned_start)
    note("C1", f"contact would start {on.isoformat()}: rulebook {rulebook.value}", SRC_C1)
    home = q.home_region.county
    care = q.care_region or home

    emergency = q.triage is not None and q.triage.urgency is Urgency.emergency
    failed = list(q.assessment.failed_principles) if q.assessment else []
    physical_required = emergency or q.care_level is CareLevel.inpatient or bool(failed)
    if emergency:
        note("R4", "triage says emergency: send to emergency care, no distance contact",
             SRC_SOCIALSTYRELSEN)  # fmt: skip
    elif q.care_level is CareLevel.inpatient:
        note("R1", "inpatient care: a distance contact is outpatient care only", SRC_R1)
    elif failed:
        note("R5", "physical care is required: failed " + ", ".join(p.value for p in failed),
             SRC_PRINCIPLES)  # fmt: skip
    elif q.assessment is not None:
        note("R5", "all four principles hold: a distance contact can be offered", SRC_PRINCIPLES)

    modes = [] if physical_required else _modes(q)
    if not q.can_use_digital_tools and not physical_required:
        note("R6", "the patient cannot use digital tools: offer telephone", SRC_SOCIALSTYRELSEN)
    duty = "none" if physical_required else (
        "ds-2023-27" if rulebook is RulebookId.ds_2023_27 else "regional-practice"
    )  # fmt: skip
    if duty == "ds-2023-27":
        note("R4", "the region shall offer a distance contact unless physical care is judged "
             "necessary", SRC_DS)  # fmt: skip
    elif duty == "regional-practice":
        note("R4", "before the proposal's date the offer is regional practice, not a duty",
             "docs/domain.md §4.2")  # fmt: skip
    if q.patient_prefers_physical and not physical_required:
        note("R6", "the patient may still choose a physical visit: permitted, not 'necessary'",
             f"{SRC_SOCIALSTYRELSEN}; {SRC_STOCKHOLM}")  # fmt: skip

    distance = q.requested_mode.is_distance and not physical_required
    out_of_region = care != home
    entry_points = _entry_points(catalogue, home, on, q.care_level)
    own_first = distance and out_of_region
    if own_first:
        note("R7", f"the patient's own region ({home}) should be the first digital door",
             SRC_STOCKHOLM)  # fmt: skip

    needs_assessment = distance and out_of_region and rulebook is RulebookId.ds_2023_27
    facts = _facts(q, care)
    adequate: bool | None = None
    if needs_assessment:
        problems = [assessment_problem(a, facts, catalogue) for a in facts.assessments]
        adequate = any(p is None for p in problems)
        why = next((p for p in problems if p), "no assessment recorded")
        note("R9", "the home region pays only after an adequate assessment by the care region's "
             "criteria: " + ("present" if adequate else why),
             SRC_DS)  # fmt: skip

    preview = None
    priced: list[ModePrice] = []
    if not emergency:
        try:
            preview = decide(facts, policy, catalogue, regions)
            priced = [_priced(replace(facts, mode=m), policy, catalogue, regions) for m in modes]
        except NoFeeSchedule as exc:  # a date before (or after) every schedule: no preview
            note("R13", f"no liability preview: {exc}", "docs/domain.md R15 (dated fee schedules)")
    advice = "seek_emergency_care" if emergency else (
        "physical_visit" if physical_required else "offer_distance"
    )  # fmt: skip
    return RoutingAnswer(
        request_id=q.request_id,
        rulebook=rulebook.value,
        reference_version=catalogue.version,
        advice=advice,
        distance_offer=DistanceOffer(
            must_offer=duty == "ds-2023-27",
            duty=duty,
            modes=modes,
            physical_required=physical_required,
            failed_principles=failed,
        ),
        own_region_first=OwnRegionFirst(
            applies=own_first, home_region=home, entry_points=entry_points
        ),
        assessment_needed_for_home_region_to_pay=needs_assessment,
        assessment_adequate=adequate,
        liability_preview=preview,
        expected_patient_fee=preview.patient_fee if preview else None,
        offered_modes_priced=priced,
        trace=trace,
    )


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
