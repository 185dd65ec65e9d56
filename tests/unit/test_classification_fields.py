"""Issue 21 item 11: a decision says what the contact is (R1 distance contact, R2 out of
region) as fields, and a routing preview prices the mode asked for, physical included, with
each offered distance mode priced on its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from routing.episodes.events import parse_event
from routing.liability.engine import decide
from routing.liability.facts import EpisodeFacts
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions
from tests import support as s
from tests.unit.test_routing_advice import AFTER, _ask, _assessment


def _decision(bodies: list[dict[str, Any]]) -> Any:
    facts = EpisodeFacts(str(bodies[0]["episode_id"]))
    for b in bodies:
        facts.apply(parse_event(b))
    return decide(facts.contacts["c1"], RulebookPolicy(), load_catalogue(), load_regions())


@pytest.mark.parametrize(
    ("care_region", "mode", "distance", "out_of_region"),
    [("04", "video", True, True), ("04", "phone", True, True), ("14", "video", True, False)],
)
def test_decisions_say_distance_and_out_of_region(
    care_region: str, mode: str, distance: bool, out_of_region: bool
) -> None:
    ep = uuid4()
    bodies = [
        s.contact_requested(ep, care_region=care_region, occurred_at=AFTER.isoformat()),
        s.contact_started(ep, mode=mode, occurred_at=(AFTER + timedelta(minutes=1)).isoformat()),
        s.contact_completed(ep, mode=mode, occurred_at=(AFTER + timedelta(minutes=9)).isoformat()),
    ]
    d = _decision(bodies)
    assert (d.distance_contact, d.out_of_region) == (distance, out_of_region)


def test_a_physical_visit_is_no_distance_contact() -> None:
    ep = uuid4()
    bodies = [
        s.contact_requested(ep, occurred_at=AFTER.isoformat(), requested_mode="physical"),
        s.physical_visit_booked(ep, occurred_at=(AFTER + timedelta(minutes=1)).isoformat()),
        s.physical_visit_held(ep, occurred_at=(AFTER + timedelta(days=1)).isoformat()),
    ]
    d = _decision(bodies)
    assert d.mode == "physical"
    assert (d.distance_contact, d.out_of_region) == (False, True)  # home 14, care region 04


def test_a_physical_request_is_priced_as_physical_and_the_offers_apart() -> None:
    """Home VGR (14), care region Stockholm (01), a doctor, November 2025. Physical: R8 under
    Riksavtalet, Stockholm's out-of-region price list of 2024, doctor 2 093 SEK (Region
    Stockholm's utomlänsprislista). Each offered distance mode: R9, the national set is not
    adopted by Stockholm, so the home region is not obliged and nothing is invoiced."""
    a = _ask(
        requested_mode="physical", care_region="01", profession="doctor",
        assessment=_assessment(),
    )  # fmt: skip
    assert a.liability_preview is not None
    assert a.liability_preview.mode == "physical"
    assert a.liability_preview.status.value == "home_region_liable"
    assert a.liability_preview.invoiced_amount == 2093
    assert a.liability_preview.distance_contact is False
    assert a.liability_preview.out_of_region is True
    assert [p.mode.value for p in a.offered_modes_priced] == [
        m.value for m in a.distance_offer.modes
    ]
    assert {p.mode.value for p in a.offered_modes_priced} == {"video", "phone", "chat",
                                                              "async_message"}  # fmt: skip
    for p in a.offered_modes_priced:
        assert (p.status, p.invoiced_amount, p.fee_schedule_region) == (
            "home_region_not_obliged",
            0,
            "14",
        )  # R14: the home region's fee


def test_a_distance_request_is_priced_in_its_own_mode() -> None:
    a = _ask(requested_mode="chat", profession="doctor", assessment=_assessment())
    assert a.liability_preview is not None
    assert a.liability_preview.mode == "chat"
    assert a.offered_modes_priced[0].mode.value == "chat"
    assert a.offered_modes_priced[0].invoiced_amount == a.liability_preview.invoiced_amount == 500
