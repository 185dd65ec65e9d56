"""The routing decision (R4-R9, R14): pure, against the shipped reference data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from routing.decisions.advise import advise
from routing.decisions.question import RoutingAnswer, RoutingQuestion
from routing.episodes.vocabulary import Principle
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions
from tests.support import STOCKHOLM

AFTER = datetime(2025, 11, 3, 10, 0, tzinfo=STOCKHOLM)  # under ds-2023-27
BEFORE = datetime(2024, 3, 4, 10, 0, tzinfo=STOCKHOLM)  # riksavtal only
NATIONAL = {"id": "national-digital", "version": "2025.1", "owning_region": None}


def _ask(**over: Any) -> RoutingAnswer:
    question: dict[str, Any] = {
        "request_id": str(uuid4()),
        "planned_start": AFTER.isoformat(),
        "home_region": {"county": "14", "municipality": "1480"},
        "care_region": "04",
        "requested_mode": "video",
        **over,
    }
    q = RoutingQuestion.model_validate(question)
    return advise(q, RulebookPolicy(), load_catalogue(), load_regions())


def _assessment(
    outcome: str = "distance_suitable", failed: list[str] | None = None
) -> dict[str, Any]:
    return {
        "criteria_set": NATIONAL,
        "answered_criteria": ["p1", "p2", "p3", "p4", "n1", "n2", "n3"],
        "outcome": outcome,
        "failed_principles": failed or [],
        "assessor_profession": "nurse",
        "assessor_licensed": True,
        "occurred_at": (AFTER - timedelta(minutes=5)).isoformat(),
    }


@pytest.mark.parametrize("principle", list(Principle))
def test_any_failed_principle_means_physical_and_names_it(principle: Principle) -> None:
    a = _ask(assessment=_assessment("physical_required", [principle.value]))
    assert a.advice == "physical_visit"
    assert a.distance_offer.physical_required
    assert not a.distance_offer.must_offer
    assert a.distance_offer.failed_principles == [principle]
    assert any(principle.value in step.finding for step in a.trace if step.rule == "R5")


def test_all_four_principles_hold_distance_must_be_offered() -> None:
    a = _ask(assessment=_assessment())
    assert a.advice == "offer_distance"
    assert a.distance_offer.must_offer
    assert a.distance_offer.duty == "ds-2023-27"
    assert a.distance_offer.modes[0].value == "video"


def test_before_the_proposal_the_offer_is_regional_practice() -> None:
    a = _ask(planned_start=BEFORE.isoformat())
    assert (a.rulebook, a.distance_offer.duty, a.distance_offer.must_offer) == (
        "riksavtal", "regional-practice", False,
    )  # fmt: skip
    assert a.assessment_needed_for_home_region_to_pay is False


def test_patient_who_cannot_use_digital_tools_is_offered_telephone() -> None:
    a = _ask(can_use_digital_tools=False)
    assert [m.value for m in a.distance_offer.modes] == ["phone"]
    assert any(step.rule == "R6" for step in a.trace)


def test_own_region_digital_door_first_for_out_of_region_digital() -> None:
    a = _ask()
    assert a.own_region_first.applies
    assert a.own_region_first.home_region == "14"
    assert a.own_region_first.entry_points  # VGR's own services, from reference data
    in_region = _ask(care_region="14")
    assert not in_region.own_region_first.applies


def test_assessment_needed_and_its_adequacy() -> None:
    without = _ask()
    assert without.assessment_needed_for_home_region_to_pay
    assert without.assessment_adequate is False
    assert without.liability_preview is not None
    assert without.liability_preview.status.value == "home_region_not_obliged"
    adequate = _ask(assessment=_assessment())
    assert adequate.assessment_adequate is True
    assert adequate.liability_preview is not None
    assert adequate.liability_preview.invoiced_amount == 500


def test_expected_fee_is_the_home_regions_under_the_proposal() -> None:
    a = _ask(assessment=_assessment())
    assert a.liability_preview is not None
    assert a.liability_preview.fee_schedule_region == "14"
    assert a.expected_patient_fee == a.liability_preview.patient_fee


def test_emergency_triage_sends_to_emergency_care() -> None:
    a = _ask(triage={"urgency": "emergency"})
    assert a.advice == "seek_emergency_care"
    assert a.liability_preview is None
    assert not a.distance_offer.modes


def test_same_question_same_answer() -> None:
    q: dict[str, Any] = {"request_id": str(uuid4()), "assessment": _assessment()}
    assert _ask(**q) == _ask(**q)
