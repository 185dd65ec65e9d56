# Over 300 lines because it lists what each event type's body may and may not say.
"""Validation of the event catalogue (events.py, vocabulary.py): what a body may and may not say."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from routing.episodes import events as ev
from routing.episodes.events import EVENT_TYPES, parse_event
from routing.episodes.vocabulary import DISTANCE_MODES, ContactMode, HomeRegion
from tests import support as f
from tests.support import DROP, Body


def refusal(body: Body) -> list[dict[str, Any]]:
    """The errors of a refused body, with the union's type tag removed from each location."""
    with pytest.raises(ValidationError) as caught:
        parse_event(body)
    errors = caught.value.errors()
    for err in errors:
        err["loc"] = tuple(p for p in err["loc"] if p not in EVENT_TYPES)
    return errors


def only_error(body: Body) -> tuple[tuple[Any, ...], str]:
    errors = refusal(body)
    assert len(errors) == 1, errors
    return errors[0]["loc"], errors[0]["msg"]


@pytest.mark.parametrize("type_", sorted(EVENT_TYPES))
def test_every_factory_body_is_valid_and_round_trips(type_: str) -> None:
    body = f.FACTORIES[type_]()
    event = parse_event(body)
    assert isinstance(event, EVENT_TYPES[type_])
    assert parse_event(event.model_dump(mode="json")) == event
    assert not set(event.data()) & ev.EpisodeEvent.ENVELOPE


# --- envelope ---------------------------------------------------------------------------


@pytest.mark.parametrize("type_", sorted(EVENT_TYPES))
def test_naive_occurred_at_is_refused(type_: str) -> None:
    loc, msg = only_error(f.FACTORIES[type_](occurred_at="2025-10-06T09:00:00"))
    assert loc == ("occurred_at",)
    assert "timezone" in msg


def test_offset_and_utc_timestamps_are_the_same_instant() -> None:
    a = parse_event(f.triage_completed(occurred_at="2025-10-06T09:00:00+02:00"))
    b = parse_event(f.triage_completed(occurred_at="2025-10-06T07:00:00Z"))
    assert a.occurred_at == b.occurred_at == datetime(2025, 10, 6, 7, tzinfo=UTC)


def test_naive_scheduled_for_is_refused() -> None:
    loc, _ = only_error(f.physical_visit_booked(scheduled_for="2025-10-08T10:00:00"))
    assert loc == ("scheduled_for",)


@pytest.mark.parametrize("type_", sorted(EVENT_TYPES))
def test_unknown_field_is_refused(type_: str) -> None:
    loc, msg = only_error(f.FACTORIES[type_](priority="high"))
    assert loc == ("priority",)
    assert "Extra inputs" in msg


@pytest.mark.parametrize("type_", sorted(EVENT_TYPES))
def test_recorded_at_from_a_client_is_refused(type_: str) -> None:
    loc, _ = only_error(f.FACTORIES[type_](recorded_at="2025-10-06T09:00:00+02:00"))
    assert loc == ("recorded_at",)


def test_unknown_field_in_a_nested_object_is_refused() -> None:
    body = f.contact_requested(home_region={**f.HOME, "parish": "Domkyrkoförsamlingen"})
    assert only_error(body)[0] == ("home_region", "parish")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", "not-a-uuid"),
        ("episode_id", 42),
        ("schema_version", 2),
        ("source", "Kry Chat"),
        ("contact_id", "c 1"),
        ("provider_id", "2321000032-000001"),
        ("care_unit_id", "SE23210-1"),
        ("requested_mode", "telepathy"),
        ("care_level", "emergency_room"),
    ],
)
def test_malformed_envelope_and_identifiers_are_refused(field: str, value: Any) -> None:
    assert only_error(f.contact_requested(**{field: value}))[0] == (field,)


@pytest.mark.parametrize("field", ["event_id", "episode_id", "occurred_at", "source", "patient"])
def test_missing_field_is_refused(field: str) -> None:
    loc, msg = only_error(f.contact_requested(**{field: DROP}))
    assert (loc, msg) == ((field,), "Field required")


def test_unknown_type_is_refused() -> None:
    errors = refusal({**f.triage_completed(), "type": "contact_teleported"})
    assert errors[0]["type"] == "union_tag_invalid"


# --- regions ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["02", "11", "15", "16", "00", "26", "99"])
def test_unused_or_unknown_county_code_is_refused_as_care_region(code: str) -> None:
    loc, msg = only_error(f.contact_requested(care_region=code))
    assert loc == ("care_region",)
    assert f"'{code}' is not the län code" in msg


@pytest.mark.parametrize("code", ["4", "004", "AB", 4])
def test_county_code_must_be_two_digits(code: Any) -> None:
    assert only_error(f.referral_issued(target_region=code))[0] == ("target_region",)


def test_criteria_set_owner_must_be_a_region() -> None:
    body = f.need_and_suitability_assessed(
        criteria_set={"id": "national-2025", "version": "1", "owning_region": "11"}
    )
    assert only_error(body)[0] == ("criteria_set", "owning_region")


@pytest.mark.parametrize(
    ("county", "municipality"),
    [("14", "0180"), ("01", "1480"), ("13", "1480"), ("25", "2480")],
)
def test_municipality_outside_its_county_is_refused(county: str, municipality: str) -> None:
    loc, msg = only_error(
        f.contact_requested(home_region={"county": county, "municipality": municipality})
    )
    assert loc == ("home_region",)
    assert f"municipality {municipality} does not lie in county {county}" in msg


@pytest.mark.parametrize("municipality", ["9900", "9902", "0180"])
def test_asylum_seeker_county_goes_with_9901_only(municipality: str) -> None:
    loc, msg = only_error(
        f.contact_requested(home_region={"county": "99", "municipality": municipality})
    )
    assert loc == ("home_region",)
    assert "9901" in msg


def test_asylum_seeker_home_region_is_accepted() -> None:
    e = parse_event(f.contact_requested(home_region={"county": "99", "municipality": "9901"}))
    assert isinstance(e, ev.ContactRequested)
    assert e.home_region == HomeRegion(county="99", municipality="9901")


def test_home_region_with_unused_county_is_refused() -> None:
    loc, msg = only_error(
        f.home_region_corrected(home_region={"county": "02", "municipality": "0280"})
    )
    assert loc == ("home_region",)
    assert "'02' is not the län code" in msg


@pytest.mark.parametrize(
    ("county", "municipality"), [("01", "0180"), ("13", "1380"), ("25", "2584"), ("03", "0380")]
)
def test_valid_home_regions_are_accepted(county: str, municipality: str) -> None:
    body = f.home_region_corrected(home_region={"county": county, "municipality": municipality})
    assert parse_event(body).model_dump()["home_region"]["municipality"] == municipality


# --- patient identity (C8) --------------------------------------------------------------


@pytest.mark.parametrize(
    "patient",
    [
        "19121212-1212",
        "191212121212",
        "121212-1212",
        "1212121212",
        "20010101-2384",
        "197010632391",  # samordningsnummer (day + 60)
    ],
)
def test_personnummer_shaped_patient_is_refused(patient: str) -> None:
    loc, msg = only_error(f.contact_requested(patient=patient))
    assert loc == ("patient",)
    assert "pseudonym" in msg


@pytest.mark.parametrize("patient", ["psn_3f9a2c7d41b04e8f", "a1b2c3d4", "P-" + "x" * 126])
def test_pseudonyms_are_accepted(patient: str) -> None:
    e = parse_event(f.contact_requested(patient=patient))
    assert isinstance(e, ev.ContactRequested)
    assert e.patient == patient


@pytest.mark.parametrize(
    "patient", ["short", "psn 3f9a2c7d", "x" * 129, "psn_3f9a@c7d", "121212+1212"]
)
def test_malformed_pseudonyms_are_refused(patient: str) -> None:
    assert only_error(f.contact_requested(patient=patient))[0] == ("patient",)


# --- modes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (f.contact_started, "mode"),
        (f.contact_mode_changed, "mode"),
        (f.contact_completed, "mode"),
    ],
)
def test_physical_mode_is_refused_where_only_distance_is_allowed(factory: Any, field: str) -> None:
    loc, msg = only_error(factory(mode="physical"))
    assert loc == ()
    assert msg.startswith(f"Value error, {field}:")
    assert "physical" in msg


def test_physical_mode_cannot_be_offered_as_distance_contact() -> None:
    loc, msg = only_error(f.distance_contact_offered(modes=["chat", "physical"]))
    assert loc == ()
    assert "modes: a distance contact cannot be offered in mode 'physical'" in msg


@pytest.mark.parametrize("mode", sorted(m.value for m in DISTANCE_MODES))
def test_every_distance_mode_can_be_started(mode: str) -> None:
    assert parse_event(f.contact_started(mode=mode)).model_dump()["mode"] == mode


def test_requested_and_accepted_mode_may_be_physical() -> None:
    """A patient may ask for (and the model must carry) a physical visit; the rules decide."""
    assert parse_event(f.contact_requested(requested_mode="physical"))
    e = parse_event(f.offer_accepted(mode="physical"))
    assert isinstance(e, ev.OfferAccepted)
    assert e.mode is ContactMode.physical


def test_duplicate_offered_modes_are_refused() -> None:
    loc, msg = only_error(f.distance_contact_offered(modes=["chat", "video", "chat"]))
    assert loc == ()
    assert "modes: each mode at most once" in msg


@pytest.mark.parametrize("modes", [[], ["chat", "video", "phone", "async_message", "chat"]])
def test_offer_needs_one_to_four_modes(modes: list[str]) -> None:
    assert only_error(f.distance_contact_offered(modes=modes))[0] == ("modes",)


# --- assessment -------------------------------------------------------------------------


def test_physical_required_must_name_a_failed_principle() -> None:
    loc, msg = only_error(f.need_and_suitability_assessed(outcome="physical_required"))
    assert loc == ()
    assert "failed_principles: 'physical_required' must name" in msg


def test_distance_suitable_cannot_name_failed_principles() -> None:
    body = f.need_and_suitability_assessed(failed_principles=["follow_up_not_possible"])
    loc, msg = only_error(body)
    assert loc == ()
    assert "failed_principles: 'distance_suitable' means all four principles hold" in msg


def test_a_principle_may_fail_only_once() -> None:
    body = f.need_and_suitability_assessed(
        outcome="physical_required",
        failed_principles=["follow_up_not_possible", "follow_up_not_possible"],
    )
    assert "each principle at most once" in only_error(body)[1]


def test_unknown_principle_is_refused() -> None:
    body = f.need_and_suitability_assessed(
        outcome="physical_required", failed_principles=["patient_is_grumpy"]
    )
    assert only_error(body)[0] == ("failed_principles", 0)


def test_physical_required_with_all_four_principles_is_accepted() -> None:
    principles = [
        "physical_meeting_required",
        "service_unsuited_to_patient",
        "insufficient_patient_information",
        "follow_up_not_possible",
    ]
    body = f.need_and_suitability_assessed(
        outcome="physical_required", failed_principles=principles
    )
    e = parse_event(body)
    assert isinstance(e, ev.NeedAndSuitabilityAssessed)
    assert [p.value for p in e.failed_principles] == principles


def test_triage_by_discriminator() -> None:
    ok = parse_event(f.triage_completed(triaged_by={"kind": "profession", "profession": "nurse"}))
    assert isinstance(ok, ev.TriageCompleted)
    assert ok.triaged_by.kind == "profession"
    bad = f.triage_completed(triaged_by={"kind": "profession", "algorithm": "x", "version": "1"})
    assert refusal(bad)[0]["loc"][0] == "triaged_by"


def test_events_are_frozen() -> None:
    e = parse_event(f.contact_requested())
    with pytest.raises(ValidationError):
        e.source = "other"  # type: ignore[misc]
