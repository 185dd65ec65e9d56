"""What a routing client asks, and what it is answered. Both are stored for audit."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from routing.episodes.events import CriteriaSetRef
from routing.episodes.vocabulary import (
    AssessmentOutcome,
    CareLevel,
    ContactMode,
    CountyCode,
    HomeRegion,
    HsaId,
    Principle,
    Profession,
    Timestamp,
    Urgency,
    assessment_rules,
)
from routing.identity.screen import TEXT_PATTERN, refuse_raw, unparsed_uuids
from routing.kernel.rules import TraceStep
from routing.liability.decision import LiabilityDecision


class TriageFacts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    urgency: Urgency
    recommended_care_level: CareLevel | None = None


class AssessmentFacts(BaseModel):
    """A need-and-suitability assessment already made (R5, C4)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=assessment_rules)
    criteria_set: CriteriaSetRef
    answered_criteria: list[Annotated[str, Field(pattern=TEXT_PATTERN)]] = Field(
        default_factory=list, max_length=200
    )
    outcome: AssessmentOutcome
    failed_principles: list[Principle] = Field(default_factory=list, max_length=4)
    assessor_profession: Profession
    assessor_licensed: StrictBool
    occurred_at: Timestamp


class RoutingQuestion(BaseModel):
    """The facts known before or during a contact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _screened(cls, data: Any) -> Any:
        """No identity number, non-ASCII digit or NUL in any string (routing.identity.screen)."""
        return refuse_raw(cls.__name__, data, unparsed_uuids(cls))

    request_id: UUID = Field(description="Chosen by the client; a retry reuses it.")
    planned_start: Timestamp = Field(
        description="When the contact would start: chooses the rulebook (C1)."
    )
    episode_id: UUID | None = None
    home_region: HomeRegion
    care_region: CountyCode | None = Field(
        default=None, description="The intended provider's care region, if any."
    )
    care_level: CareLevel = CareLevel.primary
    requested_mode: ContactMode
    profession: Profession = Field(
        default=Profession.doctor, description="Who would see the patient (for the price)."
    )
    triage: TriageFacts | None = None
    assessment: AssessmentFacts | None = None
    patient_prefers_physical: StrictBool = False
    can_use_digital_tools: StrictBool = True
    listed_unit_id: HsaId | None = None

    @model_validator(mode="after")
    def _assessment_consistent(self) -> RoutingQuestion:
        a = self.assessment
        if a is None:
            return self
        if a.outcome is AssessmentOutcome.physical_required and not a.failed_principles:
            raise ValueError("assessment.failed_principles: 'physical_required' names a principle")
        if a.outcome is AssessmentOutcome.distance_suitable and a.failed_principles:
            raise ValueError("assessment.failed_principles: 'distance_suitable' means all hold")
        return self


class DistanceOffer(BaseModel):
    must_offer: bool
    duty: Literal["ds-2023-27", "regional-practice", "none"]
    modes: list[ContactMode]
    physical_required: bool
    failed_principles: list[Principle]


class EntryPointOut(BaseModel):
    name: str
    modes: list[str]
    url: str | None = None


class OwnRegionFirst(BaseModel):
    applies: bool
    home_region: str
    entry_points: list[EntryPointOut]


class ModePrice(BaseModel):
    """What one offered mode would cost: the liability engine's decision for it, in brief."""

    mode: ContactMode
    status: str
    invoiced_amount: int
    patient_fee: int | None
    fee_schedule_region: str | None


class RoutingAnswer(BaseModel):
    request_id: UUID
    rulebook: str
    reference_version: str
    advice: Literal["seek_emergency_care", "offer_distance", "physical_visit"]
    distance_offer: DistanceOffer
    own_region_first: OwnRegionFirst
    assessment_needed_for_home_region_to_pay: bool
    assessment_adequate: bool | None
    liability_preview: LiabilityDecision | None = Field(
        description="The bill if the contact takes place in the mode asked for "
        "(`requested_mode`, physical included)."
    )
    expected_patient_fee: int | None
    offered_modes_priced: list[ModePrice] = Field(
        default_factory=list,
        description="Each offered distance mode priced on its own (`distance_offer.modes`).",
    )
    trace: list[TraceStep] = Field(
        description="The routing rules applied (C1, R4-R7, R9); the liability rules behind the "
        "preview are in `liability_preview.trace`, not repeated here."
    )
