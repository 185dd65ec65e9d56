"""The liability function against seed 004's money flows and the Ds 2023:27 rules (R8-R14)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from routing.episodes.events import parse_event
from routing.liability.decision import LiabilityDecision, LiabilityStatus
from routing.liability.engine import decide
from routing.liability.facts import EpisodeFacts
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions
from tests import support as s

# A contact before the proposal's date (Riksavtal) and one after it (Ds 2023:27).
BEFORE = datetime(2022, 3, 7, 10, 0, tzinfo=s.STOCKHOLM)
AFTER = datetime(2025, 11, 3, 10, 0, tzinfo=s.STOCKHOLM)
NATIONAL = {"id": "national-digital", "version": "2025.1", "owning_region": None}
ALL_NATIONAL = ["p1", "p2", "p3", "p4", "n1", "n2", "n3"]
POLICY = RulebookPolicy()


def _decide(
    bodies: list[dict[str, Any]], policy: RulebookPolicy = POLICY, contact: str = "c1"
) -> LiabilityDecision:
    episode = str(bodies[0]["episode_id"])
    facts = EpisodeFacts(episode)
    for b in bodies:
        facts.apply(parse_event({**b, "episode_id": episode}))
    return decide(facts.contacts[contact], policy, load_catalogue(), load_regions())


def _digital(
    start: datetime,
    profession: str = "doctor",
    assessment: dict[str, Any] | None = None,
    home: dict[str, str] | None = None,
    care_region: str = "04",
    mode: str = "video",
) -> list[dict[str, Any]]:
    """contact requested -> (assessment) -> started -> completed, out of region by default."""
    eid = uuid4()
    ep = s.contact_requested(
        eid,
        occurred_at=start - timedelta(minutes=10),
        home_region=home or {"county": "14", "municipality": "1480"},
        care_region=care_region,
    )
    bodies = [ep]
    if assessment is not None:
        bodies.append(s.need_and_suitability_assessed(eid, **assessment))
    bodies += [
        s.contact_started(eid, occurred_at=start, mode=mode, profession=profession),
        s.contact_completed(
            eid, occurred_at=start + timedelta(minutes=15), mode=mode, profession=profession
        ),
    ]
    return bodies


def _assessed(at: datetime, **over: Any) -> dict[str, Any]:
    return {
        "occurred_at": at,
        "criteria_set": NATIONAL,
        "answered_criteria": ALL_NATIONAL,
        **over,
    }


# --- seed 004: the two worked flows (Riksavtal, 2022) --------------------------------------


def test_seed_004_digital_doctor_vgr_resident_sormland_provider() -> None:
    d = _decide(_digital(BEFORE, "doctor"))
    assert d.status is LiabilityStatus.home_region_liable
    assert (d.paying_region, d.receiving_region) == ("14", "04")
    assert d.invoiced_amount == 500
    assert d.provider_reimbursement == 460
    assert d.patient_fee == 100
    assert d.fee_schedule_region == "04"
    assert d.price_list == 2  # Mellansveriges prislista
    assert d.riksavtal_chapter == "4.1"
    assert d.rulebook == "riksavtal"


def test_seed_004_digital_physiotherapist() -> None:
    d = _decide(_digital(BEFORE, "physiotherapist"))
    assert d.status is LiabilityStatus.home_region_liable
    assert (d.invoiced_amount, d.provider_reimbursement, d.patient_fee) == (275, 260, 0)


def test_every_decision_names_its_sources() -> None:
    d = _decide(_digital(BEFORE))
    rules = [step.rule for step in d.trace]
    assert {"C1", "R2", "R11", "R12", "R13", "R8"} <= set(rules)
    assert all(step.source for step in d.trace)
    assert d.reference_version == load_catalogue().version


# --- Ds 2023:27 ----------------------------------------------------------------------------


def test_adequate_assessment_before_contact_makes_home_region_liable() -> None:
    d = _decide(_digital(AFTER, assessment=_assessed(AFTER - timedelta(minutes=5))))
    assert d.rulebook == "ds-2023-27"
    assert d.status is LiabilityStatus.home_region_liable
    assert d.invoiced_amount == 500


def test_no_assessment_means_home_region_not_obliged() -> None:
    d = _decide(_digital(AFTER))
    assert d.status is LiabilityStatus.home_region_not_obliged
    assert (d.paying_region, d.receiving_region, d.invoiced_amount) == ("04", None, 0)
    assert any(step.rule == "R9" and "no need-and-suitability" in step.finding for step in d.trace)


def test_assessment_after_the_contact_does_not_count() -> None:
    d = _decide(_digital(AFTER, assessment=_assessed(AFTER + timedelta(minutes=1))))
    assert d.status is LiabilityStatus.home_region_not_obliged
    assert any("after the contact" in step.finding for step in d.trace)


def test_assessment_by_home_region_criteria_does_not_count() -> None:
    # Jönköping's own set is adopted by Jönköping only; the care region is Sörmland.
    rjl = {"id": "rjl-distanskontakt", "version": "2025.1", "owning_region": "06"}
    home = {"county": "06", "municipality": "0680"}
    d = _decide(
        _digital(
            AFTER,
            home=home,
            assessment=_assessed(
                AFTER - timedelta(minutes=5),
                criteria_set=rjl,
                answered_criteria=["p1", "p2", "p3", "p4", "j1", "j2"],
            ),
        )
    )
    assert d.status is LiabilityStatus.home_region_not_obliged
    assert any("not adopted by the care region 04" in step.finding for step in d.trace)


@pytest.mark.parametrize(
    ("over", "why"),
    [
        ({"answered_criteria": ["p1", "p2", "p3", "p4"]}, "required criteria not answered"),
        ({"assessor_profession": "assistant_nurse", "assessor_licensed": False}, "assessor"),
        (
            {"outcome": "physical_required", "failed_principles": ["follow_up_not_possible"]},
            "physical_required",
        ),
    ],
)
def test_inadequate_assessments(over: dict[str, Any], why: str) -> None:
    d = _decide(_digital(AFTER, assessment=_assessed(AFTER - timedelta(minutes=5), **over)))
    assert d.status is LiabilityStatus.home_region_not_obliged
    assert any(why in step.finding for step in d.trace)


def test_physical_out_of_region_visit_keeps_riksavtal_rules() -> None:
    ep = s.contact_requested(
        occurred_at=AFTER - timedelta(days=2), requested_mode="physical", care_region="01"
    )
    bodies = [
        ep,
        s.physical_visit_booked(occurred_at=AFTER - timedelta(days=1), scheduled_for=AFTER),
        s.physical_visit_held(occurred_at=AFTER, profession="doctor"),
    ]
    d = _decide(bodies)
    assert d.rulebook == "ds-2023-27"
    assert d.status is LiabilityStatus.home_region_liable  # no assessment needed
    assert d.fee_schedule_region == "01"  # the care region's fee (R13)
    assert any(step.rule == "R9" and "unchanged" in step.finding for step in d.trace)


def test_patient_pays_home_region_fee_under_the_proposal_whether_or_not_liable() -> None:
    liable = _decide(_digital(AFTER, assessment=_assessed(AFTER - timedelta(minutes=5))))
    not_obliged = _decide(_digital(AFTER))
    assert liable.fee_schedule_region == not_obliged.fee_schedule_region == "14"  # C5


def test_late_recorded_assessment_counts_but_is_flagged() -> None:
    bodies = _digital(AFTER)
    episode = str(bodies[0]["episode_id"])
    facts = EpisodeFacts(episode)
    for b in bodies:  # each learnt when it happened
        event = parse_event({**b, "episode_id": episode})
        facts.apply(event, recorded_at=event.occurred_at)
    late = parse_event(
        {**s.need_and_suitability_assessed(**_assessed(AFTER - timedelta(minutes=5))),
         "episode_id": episode}
    )  # fmt: skip
    facts.apply(late, recorded_at=AFTER + timedelta(days=2))
    d = decide(facts.contacts["c1"], POLICY, load_catalogue(), load_regions())
    assert d.status is LiabilityStatus.home_region_liable
    assert "assessment_recorded_late" in d.flags


def test_an_episode_posted_in_order_at_once_has_no_late_fact() -> None:
    """C9: the assessment occurred before the contact and was learnt before its start was,
    though all of it was posted two days after it happened: not late."""
    bodies = _digital(AFTER)
    episode = str(bodies[0]["episode_id"])
    assessment = {**s.need_and_suitability_assessed(**_assessed(AFTER - timedelta(minutes=5))),
                  "episode_id": episode}  # fmt: skip
    facts = EpisodeFacts(episode)
    posted = AFTER + timedelta(days=2)
    for i, b in enumerate([bodies[0], assessment, *bodies[1:]]):  # one batch, in order
        facts.apply(parse_event({**b, "episode_id": episode}), posted + timedelta(microseconds=i))
    d = decide(facts.contacts["c1"], POLICY, load_catalogue(), load_regions())
    assert d.status is LiabilityStatus.home_region_liable
    assert "assessment_recorded_late" not in d.flags


def test_proposal_can_be_switched_off_or_moved() -> None:
    bodies = _digital(AFTER)
    assert _decide(bodies, RulebookPolicy(ds_2023_27_enabled=False)).status is (
        LiabilityStatus.home_region_liable
    )
    later = RulebookPolicy(ds_2023_27_effective=date(2026, 1, 1))
    assert _decide(bodies, later).rulebook == "riksavtal"


def test_in_region_contact_is_not_invoiced() -> None:
    d = _decide(_digital(BEFORE, home={"county": "04", "municipality": "0480"}))
    assert d.status is LiabilityStatus.in_region
    assert (d.invoiced_amount, d.paying_region) == (0, None)


def test_advice_only_is_not_billable() -> None:
    bodies = _digital(BEFORE)
    bodies[-1] = {**bodies[-1], "content": "advice_only"}
    d = _decide(bodies)
    assert (d.status, d.credit_reason) == (LiabilityStatus.not_billable, 9)


def test_uncompleted_contact_is_pending() -> None:
    d = _decide(_digital(BEFORE)[:-1])
    assert d.status is LiabilityStatus.pending


def test_same_inputs_same_decision() -> None:
    bodies = _digital(AFTER, assessment=_assessed(AFTER - timedelta(minutes=5)))
    assert _decide(bodies) == _decide(bodies)


def test_folded_contact_is_a_true_dataclass_copy() -> None:
    """The fold copies ``ContactFacts`` through its instance dict (cheaper than
    ``dataclasses.replace``); the copy must equal what ``replace`` would build, and the class
    must keep nothing a dict copy would skip."""
    import dataclasses

    from routing.liability.facts import ContactFacts

    assert not hasattr(ContactFacts, "__post_init__")
    assert not hasattr(ContactFacts, "__slots__")
    episode = str(uuid4())
    facts = EpisodeFacts(episode)
    for b in _digital(AFTER, assessment=_assessed(AFTER - timedelta(minutes=5))):
        facts.apply(parse_event({**b, "episode_id": episode}))
    c = facts.contacts["c1"]
    rebuilt = dataclasses.replace(c)
    assert rebuilt == c
    assert hash(rebuilt) == hash(c)
    assert {f.name for f in dataclasses.fields(c)} == set(vars(c))
    assert c.status == "completed"
    assert len(c.assessments) == 1
