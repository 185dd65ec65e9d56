# Over 300 lines because it is docs/domain.md §3's glossary, one enum per term.
"""The care-episode vocabulary (domain.md §3), shared by events, rules and projections.

Values are snake_case English so that JSON stays readable for front-end developers; the Swedish
terms they stand for are in the docstrings, because the sources and the regions speak Swedish.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from routing.identity import current_pseudonymiser, looks_like_identity_number


class ContactMode(StrEnum):
    """How patient and staff meet. Every mode but ``physical`` is a distance contact (R1)."""

    chat = "chat"
    video = "video"
    phone = "phone"
    async_message = "async_message"
    physical = "physical"

    @property
    def is_distance(self) -> bool:
        return self is not ContactMode.physical


DISTANCE_MODES = frozenset(m for m in ContactMode if m.is_distance)


class CareLevel(StrEnum):
    """Vårdnivå. Only outpatient levels can hold distance contacts (R1)."""

    primary = "primary"
    specialised_outpatient = "specialised_outpatient"
    inpatient = "inpatient"

    @property
    def is_outpatient(self) -> bool:
        return self is not CareLevel.inpatient


class Profession(StrEnum):
    """Profession categories the price lists and fee schedules distinguish (domain.md §3)."""

    doctor = "doctor"  # läkare
    nurse = "nurse"  # sjuksköterska
    psychologist = "psychologist"  # psykolog
    psychotherapist = "psychotherapist"  # psykoterapeut
    counsellor = "counsellor"  # kurator
    physiotherapist = "physiotherapist"  # fysioterapeut
    other_licensed = "other_licensed"  # annan legitimerad personal
    assistant_nurse = "assistant_nurse"  # undersköterska (not licensed)

    @property
    def is_licensed(self) -> bool:
        return self is not Profession.assistant_nurse


class Urgency(StrEnum):
    """Outcome of triage: how soon the patient needs care."""

    emergency = "emergency"  # hänvisas till akut / 112
    same_day = "same_day"
    within_days = "within_days"
    planned = "planned"
    self_care = "self_care"  # egenvård, no care contact needed


class Principle(StrEnum):
    """Socialstyrelsen's four principles (R5): the reason codes when one fails."""

    physical_meeting_required = "physical_meeting_required"
    """(1) law or knowledge guidance requires a physical meeting."""
    service_unsuited_to_patient = "service_unsuited_to_patient"
    """(2) the digital service does not suit this patient's needs or ability."""
    insufficient_patient_information = "insufficient_patient_information"
    """(3) the provider lacks enough information on the patient's health and history."""
    follow_up_not_possible = "follow_up_not_possible"
    """(4) needed follow-up and coordination are not possible at a distance."""


class AssessmentOutcome(StrEnum):
    distance_suitable = "distance_suitable"
    physical_required = "physical_required"


class DeclineReason(StrEnum):
    preference = "preference"
    cannot_use_digital_tools = "cannot_use_digital_tools"
    other = "other"


class ContactContent(StrEnum):
    """Qualified care, or only advice (R3: advice is not billable)."""

    qualified_care = "qualified_care"
    advice_only = "advice_only"


class CancellationReason(StrEnum):
    patient_cancelled = "patient_cancelled"
    patient_did_not_attend = "patient_did_not_attend"
    provider_cancelled = "provider_cancelled"
    recorded_in_error = "recorded_in_error"


class Specialty(StrEnum):
    """Specialty (verksamhetsområde) of specialised care, as far as the care guarantee and the
    regions' referral rules (SOU 2021:59 table 6.1) tell them apart. ``other`` is any specialty
    no referral rule names."""

    child_adolescent_psychiatry = "child_adolescent_psychiatry"  # barn- och ungdomspsykiatri
    paediatrics = "paediatrics"  # barnmedicin
    dermatology = "dermatology"  # hudsjukvård, hudmottagning
    ent = "ent"  # öron-, näsa-, halssjukvård
    ophthalmology = "ophthalmology"  # ögonsjukvård
    psychotherapy = "psychotherapy"  # psykoterapi
    neuropsychiatric_investigation = "neuropsychiatric_investigation"  # neuropsykiatrisk utredning
    cognitive_investigation = "cognitive_investigation"  # kognitiv utredning
    gender_dysphoria_investigation = "gender_dysphoria_investigation"  # utredning av könsdysfori
    pain_treatment = "pain_treatment"  # smärtbehandling av specialistläkare
    speech_therapy = "speech_therapy"  # logoped
    obstetric_ultrasound = "obstetric_ultrasound"  # obstetriskt ultraljud
    podiatry = "podiatry"  # medicinsk fotvård
    skin_diathermy = "skin_diathermy"  # huddiatermi
    specialised_rehabilitation = "specialised_rehabilitation"  # planerad specialiserad rehab
    me_cfs = "me_cfs"  # specialistmottagning för ME/CFS
    outpatient_surgery = "outpatient_surgery"  # specialiserad kirurgi i öppenvård
    habilitation = "habilitation"  # habiliteringscentrum
    psychiatry = "psychiatry"  # vuxenpsykiatri
    orthopaedics = "orthopaedics"  # ortopedi
    medical_service = "medical_service"  # medicinsk service (lab, röntgen): all regions refer
    gynaecology = "gynaecology"  # gynekologi
    urology = "urology"  # urologi
    other = "other"


class ReferralPurpose(StrEnum):
    """What a referral asks for. The guarantee covers a first visit (and the planned care a
    decision leads to); return visits, investigations, examinations and medical service do not
    start a clock (the 1177 text quoted in SOU 2021:59 §6.7.1)."""

    first_visit = "first_visit"  # första besök
    return_visit = "return_visit"  # återbesök
    investigation = "investigation"  # utredning
    examination = "examination"  # undersökning: röntgen, provtagning, tester
    medical_service = "medical_service"  # medicinsk service, e.g. laboratorieundersökningar

    @property
    def starts_a_clock(self) -> bool:
        return self is ReferralPurpose.first_visit


class AgeBand(StrEnum):
    """The patient's age band when the episode starts: enough for the regions' age-bound
    referral rules (Gotland: children over two; Jönköping: 18 and over) and for the child and
    adolescent psychiatry follow-up."""

    age_0_1 = "0-1"
    age_2_17 = "2-17"
    age_18_plus = "18+"

    @property
    def is_child(self) -> bool:
        return self is not AgeBand.age_18_plus


def _not_a_number(value: object) -> object:
    """pydantic's lax mode reads a number as a Unix time or 0/1 as a boolean; the published
    schema says a string (a boolean), so the server says so too."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be an ISO 8601 date-time with an offset, not a number")
    return value


DistanceMode = Annotated[
    ContactMode,
    WithJsonSchema({"type": "string", "enum": [m.value for m in ContactMode if m.is_distance]}),
]
"""A mode the event accepts only as a distance mode (its validator says why otherwise)."""


def assessment_rules(schema: dict[str, Any]) -> None:
    """Publishes the outcome/principles rule the assessment validators enforce (R5): a
    'physical_required' names at least one failed principle, 'distance_suitable' none."""
    schema["allOf"] = [
        {
            "if": {"properties": {"outcome": {"const": "physical_required"}}},
            "then": {"required": ["failed_principles"],
                     "properties": {"failed_principles": {"minItems": 1}}},
        },
        {
            "if": {"properties": {"outcome": {"const": "distance_suitable"}}},
            "then": {"properties": {"failed_principles": {"maxItems": 0}}},
        },
    ]  # fmt: skip


Timestamp = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]
"""An instant in a body: ISO 8601 with an offset (RFC 3339), never a number."""
Day = Annotated[date, BeforeValidator(_not_a_number)]
"""A day in a body: YYYY-MM-DD, never a number."""


# --- identifiers -------------------------------------------------------------------------

COUNTY_CODES: frozenset[str] = frozenset(
    {
        "01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13",
        "14", "17", "18", "19", "20", "21", "22", "23", "24", "25",
    }
)  # fmt: skip
"""SCB län codes of the 21 regions (reference §3). 02, 11, 15 and 16 are no longer used."""

ASYLUM_SEEKER_COUNTY = "99"
ASYLUM_SEEKER_MUNICIPALITY = "9901"


def _county(code: str) -> str:
    if code not in COUNTY_CODES:
        raise ValueError(
            f"'{code}' is not the län code of a Swedish region "
            f"(expected one of {', '.join(sorted(COUNTY_CODES))})"
        )
    return code


def _pseudonymised_at_the_edge(value: object) -> object:
    """Raw identifiers must never reach the store (C8). At the edge (a pseudonymiser is in
    force) a valid personnummer or samordningsnummer is replaced by its keyed pseudonym and an
    invalid one is refused; anywhere else anything shaped like one is refused."""
    if not isinstance(value, str) or not looks_like_identity_number(value):
        return value
    pseudonymiser = current_pseudonymiser()
    if pseudonymiser is None:
        raise ValueError(
            "looks like a personnummer or samordningsnummer; send the pseudonym, never the number"
        )
    return pseudonymiser.pseudonym(value)  # InvalidIdentityNumber is a ValueError


COUNTY_SCHEMA = {"type": "string", "enum": sorted(COUNTY_CODES)}
"""A county code as published (JSON Schema, OpenAPI): the set itself, which is what the
server accepts, not the ``^\\d{2}$`` that admits 00 or 42."""

CountyCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{2}$"),
    AfterValidator(_county),
    WithJsonSchema(COUNTY_SCHEMA),
]
"""Län code of one of the 21 regions, e.g. '14' for Västra Götaland."""

HSA_PATTERN = r"^SE[0-9]{2}[2-9][0-9]{7}-[A-Za-z0-9]{1,31}$"
HsaId = Annotated[str, StringConstraints(pattern=HSA_PATTERN, max_length=44)]
r"""HSA-id of a care provider or care unit, e.g. SE2321000115-094882: ``SE``, the
organisation number of the provider, a local part. An organisation number's third digit is 2
or more (its "month" is 20-99), which no date of birth has; a sole trader's, which is a
personnummer, is refused by the identity screen (C8), so the pattern says so too. ASCII digits
only (``\d`` would admit every script's)."""

PSEUDONYM_PATTERN = r"^[A-Za-z0-9_-]{8,128}$"
PATIENT_AT_THE_EDGE = r"^(?:[A-Za-z0-9_-]{8,128}|(?:[0-9]{2})?[0-9]{6}[-+][0-9]{4})$"
"""What the edges accept as ``patient``: a pseudonym, or a personnummer / samordningsnummer
in any accepted spelling (the forms without a separator are also pseudonym-shaped)."""

PatientPseudonym = Annotated[
    str,
    StringConstraints(pattern=PSEUDONYM_PATTERN),
    BeforeValidator(_pseudonymised_at_the_edge),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PATIENT_AT_THE_EDGE,
            "description": "The patient's keyed pseudonym, or a personnummer or "
            "samordningsnummer (YYYYMMDD-NNNC, YYMMDD-NNNC, YYMMDD+NNNC, with or without "
            "separator; date and check digit validated), replaced by its pseudonym before "
            "anything is stored.",
        },
        mode="validation",
    ),
]
"""Keyed pseudonym of the patient; the raw personnummer is replaced at the edge (C8)."""

LocalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
"""An id the front-end chose for a contact, visit, referral or treatment in this episode."""

SourceId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._:/-]{1,127}$")]
"""The posting system, e.g. 'kry-chat' or '1177-direkt'."""


def _home_region_schema(schema: dict[str, Any]) -> None:
    """Publishes the rule ``_consistent`` enforces: the municipality lies in the county."""
    schema["anyOf"] = [
        {
            "properties": {
                "county": {"const": county},
                "municipality": {"pattern": f"^{county}[0-9]{{2}}$"},
            }
        }
        for county in sorted(COUNTY_CODES)
    ] + [
        {
            "properties": {
                "county": {"const": ASYLUM_SEEKER_COUNTY},
                "municipality": {"const": ASYLUM_SEEKER_MUNICIPALITY},
            }
        }
    ]


class HomeRegion(BaseModel):
    """Where the patient is folkbokförd when the care episode starts (hemregion)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_home_region_schema)

    county: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    municipality: Annotated[str, StringConstraints(pattern=r"^\d{4}$")]

    @model_validator(mode="after")
    def _consistent(self) -> HomeRegion:
        if self.county == ASYLUM_SEEKER_COUNTY:
            if self.municipality != ASYLUM_SEEKER_MUNICIPALITY:
                raise ValueError("county 99 (asylum seeker) goes with municipality 9901")
            return self
        _county(self.county)
        if self.municipality[:2] != self.county:
            raise ValueError(
                f"municipality {self.municipality} does not lie in county {self.county}"
            )
        return self
