"""The care-guarantee facts in the journey: each names a referral, treatment or contact of its
episode; a treatment is given once; the fact shapes refuse what cannot be (both subjects, a
medically caused wait that ends before it starts)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from routing.episodes.events import parse_event
from routing.episodes.journey import RuleBroken
from tests import support as s

EP = "0b6f1f52-5a53-4c55-9a8e-6f0d6f7c2a11"


def _opened() -> list[dict[str, Any]]:
    return [s.contact_requested(EP), s.referral_issued(EP), s.treatment_decided(EP)]


@pytest.mark.parametrize(
    ("fact", "rule"),
    [(s.appointment_booked(EP, "r9"), "unknown_referral"),
     (s.care_declined(EP, treatment_id="t9"), "unknown_treatment"),
     (s.treatment_given(EP, "t9"), "unknown_treatment"),
     (s.medical_assessment_needed(EP, "c9"), "unknown_contact")],
)  # fmt: skip
def test_a_fact_names_something_of_its_episode(fact: dict[str, Any], rule: str) -> None:
    with pytest.raises(RuleBroken) as e:
        s.replay([*_opened(), fact])
    assert e.value.rule == rule


def test_a_treatment_is_given_once() -> None:
    state = s.replay([*_opened(), s.treatment_given(EP), s.other_region_chosen(EP)])
    assert state.treatments_given == {"t1"}
    with pytest.raises(RuleBroken) as e:
        s.replay([*_opened(), s.treatment_given(EP), s.treatment_given(EP)])
    assert e.value.rule == "treatment_already_given"


@pytest.mark.parametrize(
    ("body", "field"),
    [({**s.appointment_booked(EP), "treatment_id": "t1"}, "referral_id"),  # both subjects
     (s.limit_notice_given(EP, referral_id=None), "referral_id"),  # neither
     (s.medically_caused_wait(EP, starts_on="2026-03-10", ends_on="2026-03-09"), "ends_on")],
)  # fmt: skip
def test_shapes_that_cannot_be(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        parse_event(body)
