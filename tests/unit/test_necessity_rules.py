"""C6 classification of physical visits (R4-R6): necessary, patient preference, unassessed,
avoidable; offer-duty breaches under the Ds 2023:27 rulebook; late facts; shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.episodes.events import parse_event
from routing.episodes.vocabulary import Principle
from routing.liability.rulebooks import RulebookPolicy
from routing.necessity import NecessityClassification, NecessityFacts, VisitClass, classify, shares
from tests import support as s
from tests.necessity_support import assessed, visit

AT = datetime(2026, 3, 10, 10, 0, tzinfo=s.STOCKHOLM)  # under ds-2023-27
BEFORE = datetime(2025, 9, 15, 10, 0, tzinfo=s.STOCKHOLM)  # under riksavtal
POLICY = RulebookPolicy()
SUITABLE: dict[str, Any] = {}
ALL_MODES = {"modes": ["chat", "video", "phone"]}
NO_PHONE = {"modes": ["chat", "video"]}


def _fold(bodies: list[dict[str, Any]], late: frozenset[int] = frozenset()) -> NecessityFacts:
    """Recorded when it happened, except bodies whose index is in ``late`` (recorded now)."""
    facts = NecessityFacts(str(bodies[0]["episode_id"]))
    for i, b in enumerate(bodies):
        e = parse_event(b)
        facts.apply(e, datetime.now(UTC) if i in late else e.occurred_at)
    return facts


def _classify(
    bodies: list[dict[str, Any]], policy: RulebookPolicy = POLICY, **kw: Any
) -> NecessityClassification:
    return classify(_fold(bodies, **kw).contacts["c1"], policy)


def test_declined_offer_then_physical_visit_is_patient_preference_not_a_breach() -> None:
    c = _classify(visit(AT, assessment=SUITABLE, offer=ALL_MODES, decline="preference"))
    assert c.classification is VisitClass.patient_preference
    assert (c.offer_duty_breach, c.reason_codes) == (False, ("preference",))
    assert c.rulebook == "ds-2023-27"


def test_suitable_but_only_a_physical_visit_booked_is_an_avoidable_breach() -> None:
    c = _classify(visit(AT, assessment=SUITABLE))
    assert (c.classification, c.offer_duty_breach) == (VisitClass.avoidable, True)
    assert c.reason_codes == ("no_distance_offer",)
    assert c.judgement is not None
    assert c.judgement.outcome.value == "distance_suitable"
    assert [step.rule for step in c.trace][-1] == "R4"


def test_before_the_rulebook_date_avoidable_is_not_a_breach() -> None:
    c = _classify(visit(BEFORE, assessment=SUITABLE))
    assert (c.classification, c.offer_duty_breach, c.rulebook) == (
        VisitClass.avoidable, False, "riksavtal",
    )  # fmt: skip
    off = _classify(visit(AT, assessment=SUITABLE), RulebookPolicy(ds_2023_27_enabled=False))
    assert (off.classification, off.offer_duty_breach) == (VisitClass.avoidable, False)


def test_the_rulebook_and_month_follow_swedish_time() -> None:
    eve = datetime(2025, 9, 30, 22, 30, tzinfo=UTC)  # 1 October 00:30 in Stockholm
    c = _classify(visit(eve, assessment=SUITABLE))
    assert (c.rulebook, c.offer_duty_breach, c.month) == ("ds-2023-27", True, "2025-10")
    end_of_march = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)
    assert _classify(visit(end_of_march)).month == "2026-04"


@pytest.mark.parametrize("principle", [p.value for p in Principle])
def test_any_failed_principle_makes_the_visit_necessary_and_is_named(principle: str) -> None:
    c = _classify(visit(AT, assessment={"failed": [principle]}))
    assert (c.classification, c.reason_codes, c.offer_duty_breach) == (
        VisitClass.necessary, (principle,), False,
    )  # fmt: skip
    assert any(principle in step.finding and step.rule == "R5" for step in c.trace)


def test_several_failed_principles_are_all_reasons() -> None:
    failed = [Principle.follow_up_not_possible.value, Principle.physical_meeting_required.value]
    c = _classify(visit(AT, assessment={"failed": failed}))
    assert c.reason_codes == tuple(failed)


def test_physical_required_wins_over_a_declined_offer() -> None:
    bodies = visit(AT, assessment={"failed": ["physical_meeting_required"]}, offer=ALL_MODES,
                   decline="preference")  # fmt: skip
    assert _classify(bodies).classification is VisitClass.necessary


def test_no_judgement_is_unassessed() -> None:
    c = _classify(visit(AT))
    assert (c.classification, c.offer_duty_breach, c.judgement) == (
        VisitClass.unassessed, False, None,
    )  # fmt: skip


def test_an_unlicensed_assessment_is_no_judgement() -> None:
    c = _classify(
        visit(AT, assessment={"assessor_profession": "assistant_nurse", "assessor_licensed": False})
    )
    assert c.classification is VisitClass.unassessed
    assert "unlicensed_assessment_ignored" in c.flags


def test_an_assessment_made_after_the_visit_does_not_count() -> None:
    bodies = visit(AT)
    bodies.append(assessed(bodies[0]["episode_id"], AT + timedelta(minutes=30)))
    c = _classify(bodies)
    assert c.classification is VisitClass.unassessed
    assert "assessment_after_visit" in c.flags


def test_a_late_recorded_assessment_changes_the_class_and_is_flagged() -> None:
    bodies = visit(AT)
    facts = _fold(bodies)
    assert classify(facts.contacts["c1"], POLICY).classification is VisitClass.unassessed
    late = parse_event(assessed(bodies[0]["episode_id"], AT - timedelta(hours=2)))
    assert facts.apply(late, AT + timedelta(days=3)) == {"c1"}
    c = classify(facts.contacts["c1"], POLICY)
    assert (c.classification, c.offer_duty_breach) == (VisitClass.avoidable, True)
    assert "assessment_recorded_late" in c.flags
    assert c.judgement is not None
    assert c.judgement.recorded_late


def test_a_visit_posted_in_order_long_after_has_no_late_assessment() -> None:
    """C9: learnt after it occurred, but before the visit it precedes was recorded."""
    bodies = visit(AT, assessment=SUITABLE)
    facts = NecessityFacts(str(bodies[0]["episode_id"]))
    posted = AT + timedelta(days=30)
    for i, b in enumerate(bodies):  # one batch, in order
        facts.apply(parse_event(b), posted + timedelta(microseconds=i))
    c = classify(facts.contacts["c1"], POLICY)
    assert "assessment_recorded_late" not in c.flags
    assert c.judgement is not None
    assert not c.judgement.recorded_late


def test_the_latest_licensed_judgement_before_the_visit_counts() -> None:
    bodies = visit(AT, assessment=SUITABLE)
    eid = bodies[0]["episode_id"]
    later = assessed(eid, AT - timedelta(minutes=30), failed=["insufficient_patient_information"])
    assert _classify([*bodies[:-1], later, bodies[-1]]).classification is VisitClass.necessary
    earlier = assessed(eid, AT - timedelta(hours=2, minutes=30), failed=["follow_up_not_possible"])
    assert _classify([*bodies[:-1], earlier, bodies[-1]]).classification is VisitClass.avoidable


def test_an_episode_level_assessment_applies_to_the_contact() -> None:
    bodies = visit(AT)
    bodies.insert(1, assessed(bodies[0]["episode_id"], AT - timedelta(hours=2), contact=None))
    assert _classify(bodies).offer_duty_breach


def test_cannot_use_digital_tools_needs_a_telephone_offer() -> None:
    no_phone = _classify(
        visit(AT, assessment=SUITABLE, offer=NO_PHONE, decline="cannot_use_digital_tools")
    )
    assert (no_phone.classification, no_phone.offer_duty_breach) == (VisitClass.avoidable, True)
    assert no_phone.reason_codes == ("telephone_not_offered",)
    assert {"cannot_use_digital_tools", "telephone_not_offered"} <= set(no_phone.flags)

    phone = _classify(
        visit(AT, assessment=SUITABLE, offer=ALL_MODES, decline="cannot_use_digital_tools")
    )
    assert (phone.classification, phone.offer_duty_breach) == (
        VisitClass.patient_preference, False,
    )  # fmt: skip
    assert phone.reason_codes == ("cannot_use_digital_tools",)
    assert "cannot_use_digital_tools" in phone.flags

    unjudged = _classify(visit(AT, offer=NO_PHONE, decline="cannot_use_digital_tools"))
    assert (unjudged.classification, unjudged.reason_codes) == (
        VisitClass.unassessed, ("telephone_not_offered",),
    )  # fmt: skip


def test_a_declined_offer_without_judgement_is_still_patient_preference() -> None:
    c = _classify(visit(AT, offer=ALL_MODES, decline="other"))
    assert (c.classification, c.reason_codes) == (VisitClass.patient_preference, ("other",))


def test_an_accepted_offer_followed_by_a_visit_is_avoidable_but_the_duty_was_met() -> None:
    bodies = visit(AT, assessment=SUITABLE, offer=ALL_MODES)
    eid = bodies[0]["episode_id"]
    bodies.insert(3, s.offer_accepted(eid, occurred_at=AT - timedelta(minutes=85), mode="video"))
    c = _classify(bodies)
    assert (c.classification, c.offer_duty_breach, c.reason_codes) == (
        VisitClass.avoidable, False, ("offer_not_declined",),
    )  # fmt: skip


def test_an_offer_made_after_the_visit_does_not_count() -> None:
    bodies = visit(AT, assessment=SUITABLE)
    bodies.append(s.distance_contact_offered(bodies[0]["episode_id"], occurred_at=AT))
    assert _classify(bodies).offer_duty_breach


def test_the_offer_duty_covers_outpatient_care_only() -> None:
    bodies = visit(AT, assessment=SUITABLE)
    bodies[0]["care_level"] = "inpatient"
    c = _classify(bodies)
    assert (c.classification, c.offer_duty_breach) == (VisitClass.avoidable, False)
    assert "inpatient" in c.flags


def test_the_visit_counts_at_the_booked_unit() -> None:
    c = _classify(visit(AT, unit="SE2321000131-E000000000999"))
    assert (c.care_unit_id, c.requested_unit_id) == ("SE2321000131-E000000000999", s.CARE_UNIT)


def test_classification_is_deterministic_and_needs_a_held_visit() -> None:
    bodies = visit(AT, assessment=SUITABLE, offer=ALL_MODES, decline="preference")
    assert _classify(bodies) == _classify(bodies)
    pending = _fold(bodies[:-1]).contacts["c1"]
    with pytest.raises(ValueError, match="no physical visit held"):
        classify(pending, POLICY)


def test_recording_order_of_the_same_facts_does_not_change_the_class() -> None:
    bodies = visit(AT, assessment=SUITABLE)
    in_order = _classify(bodies)
    documented_last = _classify([bodies[0], *bodies[2:], bodies[1]], late=frozenset({3}))
    assert documented_last.classification is in_order.classification
    assert documented_last.offer_duty_breach is in_order.offer_duty_breach
    assert "assessment_recorded_late" in documented_last.flags


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"a": 1, "b": 1, "c": 1}, {"a": 0.3334, "b": 0.3333, "c": 0.3333}),
        ({"a": 2, "b": 0}, {"a": 1.0, "b": 0.0}),
        ({"a": 0, "b": 0}, {"a": 0.0, "b": 0.0}),
    ],
)
def test_shares_examples(counts: dict[str, int], expected: dict[str, float]) -> None:
    assert shares(counts) == expected


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=4, max_size=4))
def test_shares_add_up_to_exactly_one(counts: list[int]) -> None:
    by_class = dict(zip([c.value for c in VisitClass], counts, strict=True))
    got = shares(by_class)
    total = sum(counts)
    if total == 0:
        assert set(got.values()) == {0.0}
        return
    assert sum(Decimal(str(v)) for v in got.values()) == 1
    for k, n in by_class.items():
        assert abs(got[k] - n / total) <= 1e-4 + 1e-12
