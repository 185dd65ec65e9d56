# Over 300 lines because it is one body factory per event type, the one place tests take them.
"""Event-body factories for tests: one per event type, JSON-ready (str ids, ISO timestamps).

Every factory returns a dict that ``routing.episodes.events.parse_event`` accepts and that can
be posted as is. Each call draws a fresh ``event_id``; ``**overrides`` replace any field (a
``datetime`` or ``UUID`` value is rendered as JSON would render it) and a value of ``DROP``
removes the field, for tests of missing fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from routing.episodes.events import EVENT_TYPES, EpisodeEvent, parse_event
from routing.episodes.journey import EpisodeState

Body = dict[str, Any]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
T0 = datetime(2025, 10, 6, 9, 0, tzinfo=STOCKHOLM)
"""A Monday after the Ds 2023:27 rulebook date; safely in the past for every test run."""

PATIENT = "psn_3f9a2c7d41b04e8f"
OTHER_PATIENT = "psn_9b1e07c2d5a84f36"
PROVIDER = "SE2321000032-000001"  # the digital provider (vårdgivare)
CARE_UNIT = "SE2321000115-094882"  # its care unit
CLINIC = "SE2321000131-E000000000112"  # a physical clinic in the home region
HOME = {"county": "14", "municipality": "1480"}  # Västra Götaland, Göteborg
CARE_REGION = "04"  # Sörmland: the provider's contracting region
SOURCE = "kry-chat"


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()
"""Pass as an override to remove a field from the body."""


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _body(type_: str, episode_id: UUID | str | None, fields: Body, overrides: Body) -> Body:
    body: Body = {
        "type": type_,
        "event_id": uuid4(),
        "episode_id": episode_id or uuid4(),
        "occurred_at": T0,
        "source": SOURCE,
        **fields,
        **overrides,
    }
    return {k: _json(v) for k, v in body.items() if v is not DROP}


def contact_requested(
    episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any
) -> Body:
    fields = {
        "contact_id": contact_id,
        "requested_mode": "chat",
        "patient": PATIENT,
        "home_region": dict(HOME),
        "care_region": CARE_REGION,
        "provider_id": PROVIDER,
        "care_unit_id": CARE_UNIT,
        "care_level": "primary",
    }
    return _body("contact_requested", episode_id, fields, o)


def triage_completed(
    episode_id: UUID | str | None = None, contact_id: str | None = "c1", **o: Any
) -> Body:
    fields = {
        "contact_id": contact_id,
        "urgency": "within_days",
        "recommended_care_level": "primary",
        "triaged_by": {"kind": "algorithm", "algorithm": "symptom-checker", "version": "4.2"},
    }
    return _body("triage_completed", episode_id, fields, o)


def need_and_suitability_assessed(
    episode_id: UUID | str | None = None, contact_id: str | None = "c1", **o: Any
) -> Body:
    fields = {
        "contact_id": contact_id,
        "criteria_set": {"id": "sormland-digital", "version": "2025.1", "owning_region": "04"},
        "answered_criteria": ["p1", "p2", "p3", "p4"],
        "outcome": "distance_suitable",
        "failed_principles": [],
        "assessor_profession": "nurse",
        "assessor_licensed": True,
    }
    return _body("need_and_suitability_assessed", episode_id, fields, o)


def distance_contact_offered(
    episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any
) -> Body:
    fields = {"contact_id": contact_id, "modes": ["chat", "video", "phone"]}
    return _body("distance_contact_offered", episode_id, fields, o)


def offer_accepted(episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any) -> Body:
    return _body("offer_accepted", episode_id, {"contact_id": contact_id, "mode": "video"}, o)


def offer_declined(episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any) -> Body:
    return _body(
        "offer_declined", episode_id, {"contact_id": contact_id, "reason": "preference"}, o
    )


def contact_started(episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any) -> Body:
    fields = {"contact_id": contact_id, "mode": "chat", "profession": "doctor"}
    return _body("contact_started", episode_id, fields, o)


def contact_mode_changed(
    episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any
) -> Body:
    return _body("contact_mode_changed", episode_id, {"contact_id": contact_id, "mode": "video"}, o)


def contact_completed(
    episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any
) -> Body:
    fields = {
        "contact_id": contact_id,
        "mode": "video",
        "profession": "doctor",
        "content": "qualified_care",
        "physical_follow_up_needed": False,
    }
    return _body("contact_completed", episode_id, fields, o)


def physical_visit_booked(
    episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any
) -> Body:
    fields = {
        "contact_id": contact_id,
        "care_unit_id": CLINIC,
        "scheduled_for": T0 + timedelta(days=2),
    }
    return _body("physical_visit_booked", episode_id, fields, o)


def physical_visit_held(
    episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any
) -> Body:
    fields = {"contact_id": contact_id, "profession": "doctor", "content": "qualified_care"}
    return _body("physical_visit_held", episode_id, fields, o)


def referral_issued(
    episode_id: UUID | str | None = None, referral_id: str = "r1", **o: Any
) -> Body:
    fields = {
        "referral_id": referral_id,
        "target_care_level": "specialised_outpatient",
        "target_region": "14",
        "target_unit_id": "SE2321000131-E000000000415",
    }
    return _body("referral_issued", episode_id, fields, o)


def referral_accepted(
    episode_id: UUID | str | None = None, referral_id: str = "r1", **o: Any
) -> Body:
    return _body("referral_accepted", episode_id, {"referral_id": referral_id}, o)


def referral_rejected(
    episode_id: UUID | str | None = None, referral_id: str = "r1", **o: Any
) -> Body:
    fields = {"referral_id": referral_id, "reason": "kan handläggas i primärvården"}
    return _body("referral_rejected", episode_id, fields, o)


def treatment_decided(
    episode_id: UUID | str | None = None, treatment_id: str = "t1", **o: Any
) -> Body:
    fields = {"treatment_id": treatment_id, "care_unit_id": CLINIC, "referral_id": None}
    return _body("treatment_decided", episode_id, fields, o)


def contact_cancelled(
    episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any
) -> Body:
    fields = {"contact_id": contact_id, "reason": "patient_cancelled"}
    return _body("contact_cancelled", episode_id, fields, o)


def home_region_corrected(episode_id: UUID | str | None = None, **o: Any) -> Body:
    fields = {"home_region": {"county": "13", "municipality": "1380"}}  # Halland, Halmstad
    return _body("home_region_corrected", episode_id, fields, o)


def medical_assessment_needed(
    episode_id: UUID | str | None = None, contact_id: str = "c1", **o: Any
) -> Body:
    fields = {"contact_id": contact_id, "judged_by": "nurse"}
    return _body("medical_assessment_needed", episode_id, fields, o)


def _subject(type_: str, fields: Body) -> Callable[..., Body]:
    """Factories of the care-guarantee facts about a referral (default r1) or a treatment."""

    def make(episode_id: UUID | str | None = None, referral_id: str = "r1", **o: Any) -> Body:
        subject = {} if "treatment_id" in o else {"referral_id": referral_id}
        return _body(type_, episode_id, {**subject, **fields}, o)

    return make


appointment_booked = _subject("appointment_booked", {"scheduled_for": T0 + timedelta(days=30)})
limit_notice_given = _subject("limit_notice_given", {})
medically_caused_wait = _subject(
    "medically_caused_wait", {"wait_id": "w1", "starts_on": "2026-03-10", "ends_on": None}
)
care_declined = _subject(
    "care_declined", {"informed_of_guarantee": True, "offered_for": "2026-03-20"}
)
care_requested_again = _subject("care_requested_again", {})
other_region_chosen = _subject("other_region_chosen", {"care_region": "13"})


def treatment_given(
    episode_id: UUID | str | None = None, treatment_id: str = "t1", **o: Any
) -> Body:
    return _body("treatment_given", episode_id, {"treatment_id": treatment_id}, o)


FACTORIES: dict[str, Callable[..., Body]] = {
    "contact_requested": contact_requested,
    "triage_completed": triage_completed,
    "need_and_suitability_assessed": need_and_suitability_assessed,
    "distance_contact_offered": distance_contact_offered,
    "offer_accepted": offer_accepted,
    "offer_declined": offer_declined,
    "contact_started": contact_started,
    "contact_mode_changed": contact_mode_changed,
    "contact_completed": contact_completed,
    "physical_visit_booked": physical_visit_booked,
    "physical_visit_held": physical_visit_held,
    "referral_issued": referral_issued,
    "referral_accepted": referral_accepted,
    "referral_rejected": referral_rejected,
    "treatment_decided": treatment_decided,
    "contact_cancelled": contact_cancelled,
    "home_region_corrected": home_region_corrected,
    "medical_assessment_needed": medical_assessment_needed,
    "appointment_booked": appointment_booked,
    "limit_notice_given": limit_notice_given,
    "treatment_given": treatment_given,
    "medically_caused_wait": medically_caused_wait,
    "care_declined": care_declined,
    "care_requested_again": care_requested_again,
    "other_region_chosen": other_region_chosen,
}
assert set(FACTORIES) == set(EVENT_TYPES), "a factory per event type"


def typical_journey(episode_id: UUID | str | None = None, start: datetime = T0) -> list[Body]:
    """A digital primary-care episode: request, triage, assessment, offer, chat escalated to
    video, completion, referral to a specialist, accepted, treatment decided. One minute apart."""
    ep = str(episode_id or uuid4())
    steps: list[Body] = [
        contact_requested(ep),
        triage_completed(ep),
        need_and_suitability_assessed(ep),
        distance_contact_offered(ep),
        offer_accepted(ep, mode="chat"),
        contact_started(ep, mode="chat"),
        contact_mode_changed(ep, mode="video"),
        contact_completed(ep, mode="video"),
        referral_issued(ep),
        referral_accepted(ep),
        treatment_decided(ep, referral_id="r1"),
    ]
    for i, body in enumerate(steps):
        body["occurred_at"] = (start + timedelta(minutes=i)).isoformat()
    return steps


def replay(bodies: Iterable[Body]) -> EpisodeState:
    """The state the bodies add up to, by the pure journey rules (check, then apply)."""
    events: list[EpisodeEvent] = [parse_event(b) for b in bodies]
    state = EpisodeState.open(events[0])
    for e in events[1:]:
        state.check(e)
        state.apply(e)
    return state
