# Over 300 lines because one table, a refused sequence per journey rule, two ways.
"""Every rule of the journey (journey.py) refuses the sequence it names, and only that one.

Each case is (rule, the facts already recorded, the offending fact, a fragment the message must
contain). The same table is run against the pure ``EpisodeState`` and through ``CareEpisodes``
on the in-memory store, where a refused fact must leave the store untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from routing.episodes.events import parse_event
from routing.episodes.journey import ContactStatus, EpisodeState, RuleBroken
from routing.episodes.service import CareEpisodes, EventRejected
from routing.episodes.vocabulary import ContactMode, HomeRegion
from tests import support as f
from tests.support import T0, Body, replay

EP = "5d0c9a3e-8a7b-4c11-b0de-2f3e4a5b6c7d"

Case = tuple[str, list[Body], Body, str]


def _cases() -> list[Case]:
    req = f.contact_requested(EP)
    started = [req, f.contact_started(EP, mode="chat")]
    booked = [req, f.physical_visit_booked(EP)]
    offered = [req, f.distance_contact_offered(EP, modes=["chat", "phone"])]
    referred = [req, f.referral_issued(EP)]
    return [
        (
            "patient_mismatch",
            [req],
            f.contact_requested(EP, "c2", patient=f.OTHER_PATIENT),
            "patient",
        ),
        ("contact_already_requested", [req], f.contact_requested(EP, "c1"), "contact c1"),
        ("unknown_contact", [req], f.distance_contact_offered(EP, "c9"), "contact c9"),
        ("unknown_contact", [req], f.triage_completed(EP, "c9"), "triage_completed"),
        ("unknown_contact", [req], f.need_and_suitability_assessed(EP, "c9"), "c9"),
        ("unknown_contact", [req], f.contact_started(EP, "c9"), "contact_started"),
        ("unknown_contact", [req], f.offer_accepted(EP, "c9"), "c9"),
        (
            "contact_closed",
            [req, f.contact_cancelled(EP)],
            f.contact_started(EP),
            "contact c1 is already cancelled",
        ),
        (
            "contact_closed",
            [*started, f.contact_completed(EP)],
            f.distance_contact_offered(EP),
            "already completed",
        ),
        (
            "contact_closed",
            [*booked, f.physical_visit_held(EP)],
            f.contact_cancelled(EP),
            "contact_cancelled",
        ),
        ("contact_in_progress", started, f.distance_contact_offered(EP), "under way"),
        ("contact_in_progress", started, f.physical_visit_booked(EP), "physical_follow_up"),
        ("offer_already_open", offered, f.distance_contact_offered(EP), "awaiting"),
        ("no_open_offer", [req], f.offer_accepted(EP), "offer_accepted"),
        (
            "no_open_offer",
            [*offered, f.offer_accepted(EP, mode="chat")],
            f.offer_declined(EP),
            "already answered",
        ),
        ("mode_not_offered", offered, f.offer_accepted(EP, mode="video"), "video"),
        (
            "contact_already_started",
            started,
            f.contact_started(EP, mode="video"),
            "already started",
        ),
        ("contact_booked_physical", booked, f.contact_started(EP), "physical visit"),
        (
            "mode_unchanged",
            started,
            f.contact_mode_changed(EP, mode="chat"),
            "already in mode chat",
        ),
        ("contact_not_started", [req], f.contact_completed(EP), "never started"),
        ("contact_not_started", [req], f.contact_mode_changed(EP), "contact_mode_changed"),
        ("contact_not_started", booked, f.contact_completed(EP), "never started"),
        ("visit_already_booked", booked, f.physical_visit_booked(EP), "already booked"),
        ("visit_not_booked", [req], f.physical_visit_held(EP), "no booked physical visit"),
        ("visit_not_booked", started, f.physical_visit_held(EP), "no booked physical visit"),
        ("referral_already_issued", referred, f.referral_issued(EP), "referral r1"),
        ("unknown_referral", [req], f.referral_accepted(EP, "r7"), "r7"),
        ("unknown_referral", [req], f.referral_rejected(EP, "r7"), "referral_rejected"),
        ("unknown_referral", [req], f.treatment_decided(EP, referral_id="r7"), "r7"),
        (
            "referral_already_answered",
            [*referred, f.referral_accepted(EP)],
            f.referral_rejected(EP),
            "already accepted",
        ),
        (
            "treatment_already_decided",
            [req, f.treatment_decided(EP)],
            f.treatment_decided(EP),
            "treatment t1",
        ),
        (
            "home_region_unchanged",
            [req],
            f.home_region_corrected(EP, home_region=dict(f.HOME)),
            "home region",
        ),
    ]


CASES = _cases()
IDS = [f"{rule}-{i}" for i, (rule, *_) in enumerate(CASES)]

ALL_RULES = {
    "episode_not_opened", "patient_mismatch", "contact_already_requested", "unknown_contact",
    "contact_closed", "contact_in_progress", "offer_already_open", "no_open_offer",
    "mode_not_offered", "contact_already_started", "contact_booked_physical", "mode_unchanged",
    "contact_not_started", "visit_already_booked", "visit_not_booked", "referral_already_issued",
    "unknown_referral", "referral_already_answered", "treatment_already_decided",
    "home_region_unchanged",
}  # fmt: skip


def test_the_table_covers_every_rule() -> None:
    assert {rule for rule, *_ in CASES} | {"episode_not_opened"} == ALL_RULES


@pytest.mark.parametrize(("rule", "before", "offending", "fragment"), CASES, ids=IDS)
def test_rule_refuses_the_offending_fact(
    rule: str, before: list[Body], offending: Body, fragment: str
) -> None:
    state = replay(before)
    with pytest.raises(RuleBroken) as caught:
        state.check(parse_event(offending))
    assert caught.value.rule == rule
    assert fragment in caught.value.message
    assert str(caught.value) == caught.value.message


@pytest.mark.parametrize(("rule", "before", "offending", "fragment"), CASES, ids=IDS)
def test_service_refuses_with_the_rule_as_code_and_stores_nothing(
    rule: str, before: list[Body], offending: Body, fragment: str
) -> None:
    app = CareEpisodes(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.record_batch([parse_event(b) for b in before])
    count, (state, version) = app.event_count(), app.episode(parse_event(offending).episode_id)
    with pytest.raises(EventRejected) as caught:
        app.record(parse_event(offending))
    assert (caught.value.code, caught.value.index, caught.value.status) == (rule, 0, 409)
    assert fragment in caught.value.message
    assert app.event_count() == count
    assert app.episode(parse_event(offending).episode_id) == (state, version)


@pytest.mark.parametrize("first", sorted(set(f.FACTORIES) - {"contact_requested"}))
def test_episode_must_open_with_contact_requested(first: str) -> None:
    body = f.FACTORIES[first](EP)
    with pytest.raises(RuleBroken) as caught:
        EpisodeState.open(parse_event(body))
    assert caught.value.rule == "episode_not_opened"
    assert EP in caught.value.message
    assert first in caught.value.message


def test_episode_not_opened_through_the_service_stores_nothing() -> None:
    app = CareEpisodes(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with pytest.raises(EventRejected) as caught:
        app.record(parse_event(f.triage_completed(EP, None)))
    assert caught.value.code == "episode_not_opened"
    assert app.event_count() == 0


def test_rule_messages_are_distinct_per_rule() -> None:
    """A client reading only the message can tell the rules apart."""
    messages: dict[str, set[str]] = {}
    for rule, before, offending, _ in CASES:
        with pytest.raises(RuleBroken) as caught:
            replay(before).check(parse_event(offending))
        messages.setdefault(rule, set()).add(caught.value.message)
    for rule, texts in messages.items():
        others = set().union(*(m for r, m in messages.items() if r != rule))
        assert not texts & others, rule


# --- valid journeys --------------------------------------------------------------------


def test_typical_journey_adds_up() -> None:
    state = replay(f.typical_journey(EP))
    c = state.contacts["c1"]
    assert c.status is ContactStatus.completed
    assert c.mode is ContactMode.video
    assert c.profession == "doctor"
    assert c.content == "qualified_care"
    assert c.started_at == T0 + timedelta(minutes=5)
    assert c.completed_at == T0 + timedelta(minutes=7)
    assert [o.answer for o in c.offers] == ["accepted"]
    assert c.offers[0].accepted_mode is ContactMode.chat
    assert state.referrals["r1"].status == "accepted"
    assert state.treatments == {"t1": T0 + timedelta(minutes=10)}
    assert (state.triages, state.assessments) == (1, 1)


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


JourneyBuilder = Callable[[], list[Body]]

VALID: dict[str, JourneyBuilder] = {
    "physical_after_assessment": lambda: [
        f.contact_requested(EP, requested_mode="physical"),
        f.need_and_suitability_assessed(
            EP, outcome="physical_required", failed_principles=["physical_meeting_required"]
        ),
        f.physical_visit_booked(EP),
        f.physical_visit_held(EP),
    ],
    "declined_then_reoffered_then_started": lambda: [
        f.contact_requested(EP),
        f.distance_contact_offered(EP, modes=["video"]),
        f.offer_declined(EP, reason="cannot_use_digital_tools"),
        f.distance_contact_offered(EP, modes=["phone"]),
        f.offer_accepted(EP, mode="phone"),
        f.contact_started(EP, mode="phone"),
        f.contact_completed(EP, mode="phone", content="advice_only"),
    ],
    "declined_then_booked_physical": lambda: [
        f.contact_requested(EP),
        f.distance_contact_offered(EP),
        f.offer_declined(EP),
        f.physical_visit_booked(EP),
        f.contact_cancelled(EP, reason="patient_did_not_attend"),
    ],
    "second_contact_and_rejected_referral": lambda: [
        f.contact_requested(EP),
        f.contact_started(EP),
        f.contact_completed(EP, mode="chat", physical_follow_up_needed=True),
        f.contact_requested(EP, "c2", requested_mode="physical"),
        f.physical_visit_booked(EP, "c2"),
        f.referral_issued(EP),
        f.referral_rejected(EP),
        f.referral_issued(EP, "r2"),
        f.home_region_corrected(EP),
        f.treatment_decided(EP),
    ],
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_journeys_pass_every_rule(name: str) -> None:
    bodies = VALID[name]()
    state = replay(bodies)
    assert state.contacts["c1"].contact_id == "c1"
    app = CareEpisodes(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    results = app.record_batch([parse_event(b) for b in bodies])
    assert [r.episode_version for r in results] == list(range(1, len(bodies) + 1))
    assert app.episode(parse_event(bodies[0]).episode_id) == (state, len(bodies))


def test_declined_offer_is_remembered_and_a_new_offer_opens() -> None:
    state = replay(VALID["declined_then_reoffered_then_started"]())
    c = state.contacts["c1"]
    assert [(o.answer, o.decline_reason) for o in c.offers] == [
        ("declined", "cannot_use_digital_tools"),
        ("accepted", None),
    ]
    assert (c.status, c.mode, c.content) == (
        ContactStatus.completed,
        ContactMode.phone,
        "advice_only",
    )


def test_physical_visit_and_home_region_correction_are_folded_in() -> None:
    state = replay(VALID["second_contact_and_rejected_referral"]())
    c2 = state.contacts["c2"]
    assert (c2.status, c2.mode, c2.care_unit_id) == (
        ContactStatus.booked,
        ContactMode.physical,
        f.CLINIC,
    )
    assert state.contacts["c1"].physical_follow_up_needed is True
    assert {r: x.status for r, x in state.referrals.items()} == {"r1": "rejected", "r2": "issued"}
    assert state.home_region == HomeRegion(county="13", municipality="1380")
    assert state.home_region_corrections == 1


# --- late documentation (C2) -----------------------------------------------------------


def test_late_documentation_is_accepted() -> None:
    """Facts recorded after later ones, even before the episode's opening, are normal."""
    bodies: list[Any] = [
        f.contact_requested(EP, occurred_at=_at(10)),
        f.contact_started(EP, occurred_at=_at(20)),
        f.contact_completed(EP, occurred_at=_at(30)),
        f.need_and_suitability_assessed(EP, occurred_at=_at(5)),  # before the request
        f.triage_completed(EP, occurred_at=_at(1)),
        f.referral_issued(EP, occurred_at=_at(25)),
        f.referral_accepted(EP, occurred_at=_at(24)),  # answered "before" it was issued
    ]
    state = replay(bodies)
    assert (state.assessments, state.triages) == (1, 1)
    assert state.opened_at == T0 + timedelta(minutes=10)
    assert state.referrals["r1"].status == "accepted"
    app = CareEpisodes(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.record_batch([parse_event(b) for b in bodies[:3]])
    for b in bodies[3:]:
        app.record(parse_event(b))
    late = [h.late for h in app.history(parse_event(bodies[0]).episode_id)]
    assert late == [False, False, False, True, True, True, True]
