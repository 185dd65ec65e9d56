# Over 300 lines because the event catalogue is one closed union, read whole.
"""The event catalogue of a care episode: what front-ends post and what the store keeps.

Each event is a past-tense fact. The same models validate HTTP bodies, inbound Kafka messages
and stored events, so a fact can never be accepted on one path and refused on another.
``recorded_at`` is not part of what a client sends: the server stamps it (C2), and a client
that sends it is refused like any other unknown field.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    ValidationInfo,
    model_validator,
)

from routing.episodes.vocabulary import (
    DISTANCE_MODES,
    AgeBand,
    AssessmentOutcome,
    CancellationReason,
    CareLevel,
    ContactContent,
    ContactMode,
    CountyCode,
    Day,
    DeclineReason,
    DistanceMode,
    HomeRegion,
    HsaId,
    LocalId,
    PatientPseudonym,
    Principle,
    Profession,
    ReferralPurpose,
    SourceId,
    Specialty,
    Timestamp,
    Urgency,
    assessment_rules,
)
from routing.identity.screen import TEXT_PATTERN, refuse_raw, unparsed_uuids

_EXAMPLE_EPISODE = "0b6f1f52-5a53-4c55-9a8e-6f0d6f7c2a11"
_EXAMPLE_UNIT = "SE2321000115-094882"


def _tag_required(schema: dict[str, Any]) -> None:
    """``type`` (``kind``) has a default in each model but picks the model in its union: a
    body without it is refused, so the published schema says it is required."""
    for tag in ("type", "kind"):
        if tag in schema.get("properties", {}) and tag not in schema.get("required", []):
            schema["required"] = [tag, *schema.get("required", [])]


def _one_subject_schema(schema: dict[str, Any]) -> None:
    """Exactly one of ``referral_id`` and ``treatment_id`` as a string (null counts as absent),
    which the validator below enforces: published so a schema-valid fact is an accepted one."""
    _tag_required(schema)
    schema["oneOf"] = [
        {"required": [name], "properties": {name: {"type": "string"}}}
        for name in ("referral_id", "treatment_id")
    ]


def _assessment_schema(schema: dict[str, Any]) -> None:
    """The tag, the outcome/principles rule, and the licence rule ``_reasons_match_outcome``
    enforces: an unlicensed profession's assessor is not licensed staff."""
    _tag_required(schema)
    assessment_rules(schema)
    unlicensed = [p.value for p in Profession if not p.is_licensed]
    schema["allOf"].append(
        {
            "if": {"properties": {"assessor_profession": {"enum": unlicensed}}},
            "then": {"properties": {"assessor_licensed": {"const": False}}},
        }
    )


class EpisodeEvent(BaseModel):
    """Envelope fields every event carries."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_enum_values=False, json_schema_extra=_tag_required
    )

    type: str
    schema_version: Literal[1] = 1
    event_id: UUID = Field(description="Chosen by the client; a retry reuses it (idempotency).")
    episode_id: UUID
    occurred_at: Timestamp = Field(
        description="When it happened (valid time). A timezone offset is required."
    )
    source: SourceId = Field(description="The posting system, e.g. 'kry-chat'.")

    ENVELOPE: ClassVar[frozenset[str]] = frozenset(
        {"type", "schema_version", "event_id", "episode_id", "occurred_at", "source"}
    )

    @model_validator(mode="before")
    @classmethod
    def _screened(cls, data: Any, info: ValidationInfo) -> Any:
        """No string a client sends in any fact holds an identity number, a non-ASCII digit
        or NUL (routing.identity.screen), checked on the raw body before it is parsed (a
        number in ``occurred_at`` would otherwise be read as a Unix time, one in a union's
        tag echoed back in the error), and refused naming each field. ``patient`` alone may
        be an identity number, which its own validator replaces by the pseudonym. One walk
        per fact, on HTTP and Kafka alike, so a new field or fact type is screened too."""
        if info.context is STORED:
            return data  # screened when it was recorded (``parse_stored_event``)
        skip = unparsed_uuids(cls) | {"type"}
        return refuse_raw(cls.__name__, data, skip, patient="patient")

    def data(self) -> dict[str, Any]:
        """The event-specific fields, in JSON form (CloudEvents ``data``)."""
        return self.model_dump(mode="json", exclude=set(self.ENVELOPE))


def _distance_modes(modes: list[ContactMode], field: str) -> None:
    if any(m not in DISTANCE_MODES for m in modes):
        raise ValueError(f"{field}: a distance contact cannot be offered in mode 'physical'")
    if len(set(modes)) != len(modes):
        raise ValueError(f"{field}: each mode at most once")


class ContactRequested(EpisodeEvent):
    """Vårdbegäran: the patient asks for a contact. The first one opens the episode."""

    type: Literal["contact_requested"] = "contact_requested"
    contact_id: LocalId
    requested_mode: ContactMode
    patient: PatientPseudonym
    home_region: HomeRegion
    care_region: CountyCode = Field(
        description="Region whose agreement the provider works under for this contact."
    )
    provider_id: HsaId
    care_unit_id: HsaId
    care_level: CareLevel
    listed_unit_id: HsaId | None = Field(
        default=None, description="Vårdcentral where the patient is listed, if known."
    )
    specialty: Specialty | None = Field(
        default=None,
        description="Specialised care only: the specialty sought (a request without a "
        "referral, egen vårdbegäran, starts the 90-day visit clock).",
    )
    age_band: AgeBand | None = Field(
        default=None, description="The patient's age band (regional age-bound referral rules)."
    )


class AlgorithmTriage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_tag_required)
    kind: Literal["algorithm"] = "algorithm"
    algorithm: Annotated[str, Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)]
    version: Annotated[str, Field(min_length=1, max_length=32, pattern=TEXT_PATTERN)]


class ProfessionalTriage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_tag_required)
    kind: Literal["profession"] = "profession"
    profession: Profession


class TriageCompleted(EpisodeEvent):
    type: Literal["triage_completed"] = "triage_completed"
    contact_id: LocalId | None = None
    urgency: Urgency
    recommended_care_level: CareLevel
    triaged_by: Annotated[AlgorithmTriage | ProfessionalTriage, Field(discriminator="kind")]


class CriteriaSetRef(BaseModel):
    """Which need-and-suitability criteria were applied (C4: whose, which version)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
    version: Annotated[str, Field(min_length=1, max_length=32, pattern=TEXT_PATTERN)]
    owning_region: CountyCode | None = Field(
        default=None, description="Region that decided the set; none for a national set."
    )


class NeedAndSuitabilityAssessed(EpisodeEvent):
    """Behovs- och lämplighetsbedömning (R5, R9). Under Ds 2023:27 it must precede the contact."""

    model_config = ConfigDict(json_schema_extra=_assessment_schema)

    type: Literal["need_and_suitability_assessed"] = "need_and_suitability_assessed"
    contact_id: LocalId | None = None
    criteria_set: CriteriaSetRef
    answered_criteria: list[
        Annotated[str, Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)]
    ] = Field(default_factory=list, max_length=200, description="Ids of the criteria answered.")
    outcome: AssessmentOutcome
    failed_principles: list[Principle] = Field(
        default_factory=list, max_length=4, json_schema_extra={"uniqueItems": True}
    )
    assessor_profession: Profession
    assessor_licensed: StrictBool

    @model_validator(mode="after")
    def _reasons_match_outcome(self) -> Self:
        if self.assessor_licensed and not self.assessor_profession.is_licensed:
            raise ValueError(
                f"assessor_licensed: a {self.assessor_profession.value} is not licensed staff"
            )
        if len(set(self.failed_principles)) != len(self.failed_principles):
            raise ValueError("failed_principles: each principle at most once")
        if self.outcome is AssessmentOutcome.physical_required and not self.failed_principles:
            raise ValueError(
                "failed_principles: 'physical_required' must name the principle(s) that failed"
            )
        if self.outcome is AssessmentOutcome.distance_suitable and self.failed_principles:
            raise ValueError(
                "failed_principles: 'distance_suitable' means all four principles hold"
            )
        return self


class DistanceContactOffered(EpisodeEvent):
    type: Literal["distance_contact_offered"] = "distance_contact_offered"
    contact_id: LocalId
    modes: Annotated[
        list[DistanceMode],
        Field(min_length=1, max_length=4, json_schema_extra={"uniqueItems": True}),
    ]

    @model_validator(mode="after")
    def _only_distance(self) -> Self:
        _distance_modes(self.modes, "modes")
        return self


class OfferAccepted(EpisodeEvent):
    type: Literal["offer_accepted"] = "offer_accepted"
    contact_id: LocalId
    mode: ContactMode


class OfferDeclined(EpisodeEvent):
    type: Literal["offer_declined"] = "offer_declined"
    contact_id: LocalId
    reason: DeclineReason


class ContactStarted(EpisodeEvent):
    type: Literal["contact_started"] = "contact_started"
    contact_id: LocalId
    mode: DistanceMode
    profession: Profession

    @model_validator(mode="after")
    def _distance(self) -> Self:
        if not self.mode.is_distance:
            raise ValueError(
                "mode: a physical meeting is recorded with physical_visit_booked / "
                "physical_visit_held"
            )
        return self


class ContactModeChanged(EpisodeEvent):
    """C7: chat escalated to video stays one contact."""

    type: Literal["contact_mode_changed"] = "contact_mode_changed"
    contact_id: LocalId
    mode: DistanceMode

    @model_validator(mode="after")
    def _distance(self) -> Self:
        if not self.mode.is_distance:
            raise ValueError("mode: change to a physical meeting by booking a physical visit")
        return self


class ContactCompleted(EpisodeEvent):
    type: Literal["contact_completed"] = "contact_completed"
    contact_id: LocalId
    mode: DistanceMode
    profession: Profession
    content: ContactContent
    physical_follow_up_needed: StrictBool = False

    @model_validator(mode="after")
    def _distance(self) -> Self:
        if not self.mode.is_distance:
            raise ValueError("mode: a physical meeting is completed with physical_visit_held")
        return self


class PhysicalVisitBooked(EpisodeEvent):
    type: Literal["physical_visit_booked"] = "physical_visit_booked"
    contact_id: LocalId
    care_unit_id: HsaId
    scheduled_for: Timestamp


class PhysicalVisitHeld(EpisodeEvent):
    type: Literal["physical_visit_held"] = "physical_visit_held"
    contact_id: LocalId
    profession: Profession
    content: ContactContent = ContactContent.qualified_care


class ReferralIssued(EpisodeEvent):
    type: Literal["referral_issued"] = "referral_issued"
    referral_id: LocalId
    target_care_level: CareLevel
    target_region: CountyCode
    target_unit_id: HsaId | None = None
    specialty: Specialty | None = Field(
        default=None, description="The specialty referred to (referral rules, follow-up)."
    )
    purpose: ReferralPurpose | None = Field(
        default=None,
        description="What the referral asks for: only a first visit starts the 90-day clock; "
        "return visits, investigations and examinations do not (care guarantee).",
    )


class ReferralAccepted(EpisodeEvent):
    type: Literal["referral_accepted"] = "referral_accepted"
    referral_id: LocalId


class ReferralRejected(EpisodeEvent):
    type: Literal["referral_rejected"] = "referral_rejected"
    referral_id: LocalId
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=TEXT_PATTERN)]


class TreatmentDecided(EpisodeEvent):
    """Starts the 90-day treatment clock of the care guarantee (R16)."""

    type: Literal["treatment_decided"] = "treatment_decided"
    treatment_id: LocalId
    care_unit_id: HsaId
    referral_id: LocalId | None = None


class ContactCancelled(EpisodeEvent):
    type: Literal["contact_cancelled"] = "contact_cancelled"
    contact_id: LocalId
    reason: CancellationReason


class HomeRegionCorrected(EpisodeEvent):
    """Folkbokföring at the episode's start was recorded wrongly (Inera credit reason 1)."""

    type: Literal["home_region_corrected"] = "home_region_corrected"
    home_region: HomeRegion


class GuaranteeSubjectFact(EpisodeEvent):
    """A fact about one 90-day care-guarantee clock: the referral's first visit, or the
    planned care of a treatment decision (exactly one of the two ids)."""

    model_config = ConfigDict(json_schema_extra=_one_subject_schema)

    referral_id: LocalId | None = None
    treatment_id: LocalId | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        if (self.referral_id is None) == (self.treatment_id is None):
            raise ValueError("referral_id: give exactly one of referral_id and treatment_id")
        return self


class MedicalAssessmentNeeded(EpisodeEvent):
    """The provider judged that the patient needs a medical assessment and that it could not be
    made at the first contact (HSF 6 kap. 1 § 2): the only thing that starts the 3-day clock."""

    type: Literal["medical_assessment_needed"] = "medical_assessment_needed"
    contact_id: LocalId
    judged_by: Profession


class AppointmentBooked(GuaranteeSubjectFact):
    """A time booked (offered) for the first visit or the planned care: the answer (besked) of
    SOU 2021:59 §6.11.2, and what the early warning compares with the deadline."""

    type: Literal["appointment_booked"] = "appointment_booked"
    scheduled_for: Timestamp
    care_unit_id: HsaId | None = None


class LimitNoticeGiven(GuaranteeSubjectFact):
    """The patient was told that the limit cannot be met (besked, SOU 2021:59 §6.11.2)."""

    type: Literal["limit_notice_given"] = "limit_notice_given"


class TreatmentGiven(EpisodeEvent):
    """The planned care of a treatment decision was given: ends the 90-day treatment clock."""

    type: Literal["treatment_given"] = "treatment_given"
    treatment_id: LocalId
    care_unit_id: HsaId | None = None


class MedicallyCausedWait(GuaranteeSubjectFact):
    """Medicinskt orsakad väntetid: the patient cannot be given care for medical reasons from
    ``starts_on`` through ``ends_on`` (inclusive; null while it lasts). Those days are not
    counted (HSF 6 kap. 2 § 1). A later fact with the same ``wait_id`` replaces it."""

    type: Literal["medically_caused_wait"] = "medically_caused_wait"
    wait_id: LocalId
    starts_on: Day
    ends_on: Day | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on: must not be before starts_on")
        return self


class CareDeclined(GuaranteeSubjectFact):
    """The patient declined care offered (patientvald väntan). It counts as voluntarily
    declining only if the patient was informed of the guarantee and the care offered lay within
    it (HSF 6 kap. 2 §): both are stated here, so the clock can check them."""

    type: Literal["care_declined"] = "care_declined"
    informed_of_guarantee: bool
    offered_for: Day = Field(description="The day of the care offered and declined.")


class CareRequestedAgain(GuaranteeSubjectFact):
    """A patient who declined asks for care again: a new clock runs from this day."""

    type: Literal["care_requested_again"] = "care_requested_again"


class OtherRegionChosen(GuaranteeSubjectFact):
    """The patient chose care in another region (patientlagen 9 kap. 1 §): from this day the
    wait is not counted (HSF 6 kap. 2 § 2)."""

    type: Literal["other_region_chosen"] = "other_region_chosen"
    care_region: CountyCode


AnyEpisodeEvent = Annotated[
    ContactRequested
    | TriageCompleted
    | NeedAndSuitabilityAssessed
    | DistanceContactOffered
    | OfferAccepted
    | OfferDeclined
    | ContactStarted
    | ContactModeChanged
    | ContactCompleted
    | PhysicalVisitBooked
    | PhysicalVisitHeld
    | ReferralIssued
    | ReferralAccepted
    | ReferralRejected
    | TreatmentDecided
    | ContactCancelled
    | HomeRegionCorrected
    | MedicalAssessmentNeeded
    | AppointmentBooked
    | LimitNoticeGiven
    | TreatmentGiven
    | MedicallyCausedWait
    | CareDeclined
    | CareRequestedAgain
    | OtherRegionChosen,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[AnyEpisodeEvent] = TypeAdapter(AnyEpisodeEvent)

EVENT_TYPES: dict[str, type[EpisodeEvent]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        ContactRequested,
        TriageCompleted,
        NeedAndSuitabilityAssessed,
        DistanceContactOffered,
        OfferAccepted,
        OfferDeclined,
        ContactStarted,
        ContactModeChanged,
        ContactCompleted,
        PhysicalVisitBooked,
        PhysicalVisitHeld,
        ReferralIssued,
        ReferralAccepted,
        ReferralRejected,
        TreatmentDecided,
        ContactCancelled,
        HomeRegionCorrected,
        MedicalAssessmentNeeded,
        AppointmentBooked,
        LimitNoticeGiven,
        TreatmentGiven,
        MedicallyCausedWait,
        CareDeclined,
        CareRequestedAgain,
        OtherRegionChosen,
    )
}


def parse_event(data: dict[str, Any]) -> EpisodeEvent:
    """Validates a JSON object into its event model; raises pydantic.ValidationError."""
    event: EpisodeEvent = EVENT_ADAPTER.validate_python(data)
    return event


STORED: dict[str, bool] = {"stored": True}
"""Validation context of a fact read back from the event store."""


def parse_stored_event(data: dict[str, Any]) -> EpisodeEvent:
    """``parse_event`` for a fact read back from the event store (replay, audit): typed
    again, but not screened again for identity numbers, which every fact was before it was
    recorded (the screen was two thirds of parsing a replayed fact)."""
    event: EpisodeEvent = EVENT_ADAPTER.validate_python(data, context=STORED)
    return event


def example_contact_requested() -> dict[str, Any]:
    """A valid body, used by the OpenAPI examples and the README."""
    return {
        "type": "contact_requested",
        "event_id": "6f4c5c3e-2f59-4a55-8a0b-1d2e3f405162",
        "episode_id": _EXAMPLE_EPISODE,
        "occurred_at": "2026-03-02T09:14:00+01:00",
        "source": "kry-chat",
        "contact_id": "c1",
        "requested_mode": "chat",
        "patient": "psn_3f9a2c7d41b04e8f",
        "home_region": {"county": "14", "municipality": "1480"},
        "care_region": "04",
        "provider_id": "SE2321000032-000001",
        "care_unit_id": _EXAMPLE_UNIT,
        "care_level": "primary",
    }


def event_examples() -> dict[str, dict[str, Any]]:
    """One example per common step of a digital contact, for the OpenAPI page."""
    base = {"episode_id": _EXAMPLE_EPISODE, "source": "kry-chat"}
    return {
        "contact_requested": example_contact_requested(),
        "need_and_suitability_assessed": {
            **base,
            "type": "need_and_suitability_assessed",
            "event_id": "7a1d7b0e-0d8c-4f9e-9a51-2b1f0c3d4e5f",
            "occurred_at": "2026-03-02T09:16:00+01:00",
            "contact_id": "c1",
            # adopted by the care region (04) from 2025-10-01: GET /reference/criteria-sets
            "criteria_set": {"id": "national-digital", "version": "2025.1", "owning_region": None},
            "answered_criteria": ["p1", "p2", "p3", "p4", "n1", "n2", "n3"],
            "outcome": "distance_suitable",
            "assessor_profession": "nurse",
            "assessor_licensed": True,
        },
        "contact_started": {
            **base,
            "type": "contact_started",
            "event_id": "8b2e8c1f-1e9d-4a0f-8b62-3c2a1d4e5f60",
            "occurred_at": "2026-03-02T09:20:00+01:00",
            "contact_id": "c1",
            "mode": "chat",
            "profession": "doctor",
        },
        "contact_completed": {
            **base,
            "type": "contact_completed",
            "event_id": "9c3f9d20-2fae-4b10-9c73-4d3b2e5f6071",
            "occurred_at": "2026-03-02T09:34:00+01:00",
            "contact_id": "c1",
            "mode": "video",
            "profession": "doctor",
            "content": "qualified_care",
        },
    }
