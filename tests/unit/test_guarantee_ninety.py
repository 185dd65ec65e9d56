# Over 300 lines because each 90-day clock rule gets its own hand-worked, sourced case.
"""The two 90-day clocks of the care guarantee (HSF 6 kap. 1 § 3-4), the exclusions the law
allows on them (HSF 6 kap. 2 §), what the guarantee does not cover, the early warning (HSL
9 kap. 2 §), the proposed 14-day answer and the regions' own limits. Expected values are worked
by hand from the lines of SOU 2021:59 quoted in each test, never from the code under test."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from routing.episodes.events import parse_event
from routing.guarantee import Clock, ClockStatus, Exclusion, GuaranteePolicy, episode_clocks
from routing.guarantee.reference import GuaranteeDataError, GuaranteeRules, parse_rules
from routing.kernel.calendar import STOCKHOLM
from tests import support as s

T = datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)  # referral day = day 0; day 90 = 2026-05-31
DAY90 = date(2026, 5, 31)
SPECIALISED = {"care_level": "specialised_outpatient", "care_region": "14",
               "care_unit_id": s.CLINIC}  # fmt: skip


def _clocks(
    bodies: list[dict[str, Any]], policy: GuaranteePolicy | None = None,
    rules: GuaranteeRules | None = None,
) -> dict[str, Clock]:  # fmt: skip
    facts = [parse_event(b) for b in bodies]
    clocks = episode_clocks(facts, policy, rules)
    return {c.subject_id: c for c in clocks if c.kind.value not in ("contact", "assessment")}


def _referral(ep: str, **o: Any) -> list[dict[str, Any]]:
    """The episode opens in primary care of home region 14, which refers the patient the same
    day to a first specialist visit in region 14."""
    return [
        s.contact_requested(ep, occurred_at=T - timedelta(hours=1), care_region="14"),
        s.referral_issued(ep, occurred_at=T, purpose="first_visit", **o),
    ]


def _visit(ep: str, at: datetime, cid: str = "s1") -> list[dict[str, Any]]:
    """The first specialist visit: requested the day before, held at ``at`` by a doctor."""
    return [
        s.contact_requested(ep, contact_id=cid, occurred_at=at - timedelta(days=1), **SPECIALISED),
        s.physical_visit_booked(ep, contact_id=cid, occurred_at=at - timedelta(days=1)),
        s.physical_visit_held(ep, contact_id=cid, occurred_at=at),
    ]


def _day(n: int) -> datetime:
    return T + timedelta(days=n, hours=2)


# --- 3. first specialist visit within 90 days ------------------------------------------------


@pytest.mark.parametrize(("days", "status"), [(0, "met"), (90, "met"), (91, "breached")])
def test_specialist_visit_within_ninety_days_of_the_referral(days: int, status: str) -> None:
    """HSF 6 kap. 1 § 3: "besöka den specialiserade vården inom 90 dagar från det att remiss har
    utfärdats": referral 2026-03-02 is day 0, 2026-05-31 day 90 (within), 2026-06-01 day 91."""
    ep = str(uuid4())
    clock = _clocks([*_referral(ep), *_visit(ep, _day(days))])["referral:r1"]
    assert (clock.status.value, clock.days, clock.deadline) == (status, days, DAY90)


def test_a_self_referral_runs_from_the_request() -> None:
    """1177: "Till vissa specialistmottagningar kan du söka själv, utan remiss från en läkare.
    Då gäller samma tidsgräns." Requested 2026-03-02, seen 30 days later."""
    ep = str(uuid4())
    bodies = [
        s.contact_requested(ep, occurred_at=T, specialty="dermatology", **SPECIALISED),
        s.physical_visit_booked(ep, occurred_at=T),
        s.physical_visit_held(ep, occurred_at=_day(30)),
    ]
    clock = _clocks(bodies)["contact:c1"]
    assert (clock.status, clock.days, clock.specialty) == (ClockStatus.met, 30, "dermatology")


@pytest.mark.parametrize("purpose", ["return_visit", "investigation", "examination"])
def test_return_visits_investigations_and_examinations_start_no_clock(purpose: str) -> None:
    """1177 "När gäller inte vårdgarantin?": "återbesök", "utredningar och undersökningar som
    till exempel röntgen, provtagningar och tester"."""
    ep = str(uuid4())
    bodies = [s.contact_requested(ep, occurred_at=T, care_region="14"),
              s.referral_issued(ep, occurred_at=T, purpose=purpose)]  # fmt: skip
    assert set(_clocks(bodies)) == set()


def test_hallands_own_guarantee_covers_x_ray_and_sampling() -> None:
    """1177: "(undantag Region Halland där röntgen och provtagning omfattas av den regionala
    vårdgarantin)"."""
    ep = str(uuid4())
    halland = {"county": "13", "municipality": "1380"}
    bodies = [
        s.contact_requested(ep, occurred_at=T, home_region=halland, care_region="13"),
        s.referral_issued(ep, occurred_at=T, purpose="examination", target_region="13"),
    ]
    clock = _clocks(bodies)["referral:r1"]
    assert clock.status is ClockStatus.open
    assert any(t.rule == "extension" for t in clock.trace)


# --- 4. planned treatment within 90 days, ended when given ------------------------------------


@pytest.mark.parametrize(("days", "status"), [(90, "met"), (91, "breached")])
def test_treatment_ends_when_it_is_given(days: int, status: str) -> None:
    """HSF 6 kap. 1 § 4: "planerad vård inom 90 dagar från det att vårdgivaren har beslutat att
    den enskilde ska få den aktuella vården"."""
    ep = str(uuid4())
    bodies = [
        s.contact_requested(ep, occurred_at=T, **SPECIALISED),
        s.treatment_decided(ep, occurred_at=T),
        s.treatment_given(ep, occurred_at=_day(days)),
    ]
    clock = _clocks(bodies)["treatment:t1"]
    assert (clock.status.value, clock.days, clock.basis) == (status, days, "treatment_given t1")


def test_a_visit_after_the_decision_is_not_the_treatment() -> None:
    ep = str(uuid4())
    bodies = [s.contact_requested(ep, occurred_at=T, **SPECIALISED),
              s.treatment_decided(ep, occurred_at=T), *_visit(ep, _day(10), "v2")]  # fmt: skip
    assert _clocks(bodies)["treatment:t1"].status is ClockStatus.open


# --- 5. exclusions: only the three of HSF 6 kap. 2 §, each dated ------------------------------


@pytest.mark.parametrize(("visit", "status", "days"), [(100, "met", 90), (101, "breached", 91)])
def test_medically_caused_waiting_is_not_counted(visit: int, status: str, days: int) -> None:
    """HSF 6 kap. 2 §: "ska inte sådan tid räknas då patienten 1. av medicinska skäl inte kan ges
    vård". Waiting 2026-03-10 to 2026-03-19 (10 days) moves day 90 from 2026-05-31 to
    2026-06-10: a visit that day is 100 calendar days, 90 counted."""
    ep = str(uuid4())
    wait = s.medically_caused_wait(ep, occurred_at=_day(8), starts_on="2026-03-10",
                                   ends_on="2026-03-19")  # fmt: skip
    clock = _clocks([*_referral(ep), wait, *_visit(ep, _day(visit))])["referral:r1"]
    assert (clock.status.value, clock.days, clock.deadline) == (status, days, date(2026, 6, 10))
    assert [(x.reason, x.on, x.until) for x in clock.exclusions] == [
        (Exclusion.medical_reasons, date(2026, 3, 10), date(2026, 3, 19))
    ]


def test_the_choice_of_another_region_is_dated_when_it_was_made() -> None:
    """HSF 6 kap. 2 § 2: time is not counted when the patient "utnyttjat sin möjlighet att välja
    vård i en annan region"; chosen on 2026-04-01 (day 30), the clock is out from that day."""
    ep = str(uuid4())
    chose = s.other_region_chosen(ep, occurred_at=_day(30), care_region="13")
    clock = _clocks([*_referral(ep), chose, *_visit(ep, _day(120))])["referral:r1"]
    assert (clock.status, clock.reason) == (ClockStatus.excluded, Exclusion.other_region_choice)
    assert [(x.reason, x.on) for x in clock.exclusions] == [
        (Exclusion.other_region_choice, date(2026, 4, 1))
    ]


def test_a_choice_after_the_limit_cannot_hide_the_breach() -> None:
    ep = str(uuid4())
    chose = s.other_region_chosen(ep, occurred_at=_day(95))
    assert _clocks([*_referral(ep), chose])["referral:r1"].status is ClockStatus.breached


@pytest.mark.parametrize(
    ("informed", "offered_for", "status"),
    [(True, "2026-04-15", "excluded"),  # all three conditions hold
     (False, "2026-04-15", "open"),  # not informed of the guarantee
     (True, "2026-06-15", "open")],  # the care offered lay beyond day 90 (2026-05-31)
)  # fmt: skip
def test_declining_counts_only_when_all_three_conditions_hold(
    informed: bool, offered_for: str, status: str
) -> None:
    """HSF 6 kap. 2 §: "Patienten anses ... frivilligt avstå från vård om patienten har
    1. informerats om vårdgarantin, 2. erbjudits vård i enlighet med vårdgarantin, och
    3. meddelat vårdgivaren att han eller hon avstår från erbjudandet om vård." """
    ep = str(uuid4())
    declined = s.care_declined(ep, occurred_at=_day(18), informed_of_guarantee=informed,
                               offered_for=offered_for)  # fmt: skip
    clock = _clocks([*_referral(ep), declined])["referral:r1"]
    assert clock.status.value == status
    (record,) = clock.exclusions
    assert (record.reason, record.on, record.counts) == (
        Exclusion.patient_declined, date(2026, 3, 20), status == "excluded"
    )  # fmt: skip


def test_asking_again_after_declining_starts_a_new_clock_that_day() -> None:
    """1177: "Kontakta mottagningen där du väntar på vård om du ångrar dig ... Då börjar
    vårdgarantin räknas om på nytt från det datum du meddelade att du ändrade dig." Asked again
    2026-05-01: a new clock, day 90 = 2026-07-30."""
    ep = str(uuid4())
    bodies = [
        *_referral(ep),
        s.care_declined(ep, occurred_at=_day(18), offered_for="2026-04-15"),
        s.care_requested_again(ep, occurred_at=datetime(2026, 5, 1, 10, tzinfo=STOCKHOLM)),
    ]
    c = _clocks(bodies)  # fmt: skip
    assert c["referral:r1"].status is ClockStatus.excluded
    again = c["referral:r1#2"]
    assert (again.status, again.deadline) == (ClockStatus.open, date(2026, 7, 30))


def test_no_exclusion_reaches_the_primary_care_clocks() -> None:
    """HSF 6 kap. 2 § names only "besöksgarantin inom den specialiserade vården eller
    behandlingsgarantin": a declined distance offer leaves the 3-day clock running."""
    ep = str(uuid4())
    bodies = [
        s.contact_requested(ep, occurred_at=T, care_region="14", listed_unit_id=s.CARE_UNIT),
        s.medical_assessment_needed(ep, occurred_at=T),
        s.distance_contact_offered(ep, occurred_at=T),
        s.offer_declined(ep, occurred_at=T),
    ]
    (assessment,) = [c for c in episode_clocks(parse_event(b) for b in bodies)
                     if c.kind.value == "assessment"]  # fmt: skip
    assert assessment.status is ClockStatus.open


# --- 6. early warning and the 14-day answer -----------------------------------------------------


@pytest.mark.parametrize(
    ("booked_for", "as_of", "at_risk"),
    [("2026-06-15", date(2026, 3, 9), False),  # before the booking was made
     ("2026-06-15", date(2026, 3, 10), True),  # booked beyond day 90: at risk from the booking
     ("2026-05-20", date(2026, 5, 15), False),  # booked within the limit
     (None, date(2026, 4, 30), False),  # no booking, before the warning window
     (None, date(2026, 5, 1), True)],  # no booking 30 days before the deadline
)  # fmt: skip
def test_a_clock_is_at_risk_as_soon_as_there_is_reason_to_suspect_it(
    booked_for: str | None, as_of: date, at_risk: bool
) -> None:
    """SOU 2021:59 §6.11.1: the region should act "så snart det finns skäl att misstänka att
    vårdgarantin inte kommer kunna uppfyllas" (HSL 9 kap. 2 §)."""
    ep = str(uuid4())
    bodies = [*_referral(ep)]
    if booked_for:
        bodies.append(s.appointment_booked(
            ep, occurred_at=_day(8), scheduled_for=f"{booked_for}T10:00:00+02:00"
        ))  # fmt: skip
    clock = _clocks(bodies)["referral:r1"]
    assert clock.at_risk(as_of) is at_risk
    assert clock.warn_from == date(2026, 5, 1)


@pytest.mark.parametrize(("policy", "due"), [(None, None), (date(2026, 1, 1), date(2026, 3, 16))])
def test_the_fourteen_day_answer_is_a_switch(policy: date | None, due: date | None) -> None:
    """SOU 2021:59 §6.11.2 (a proposal): "En tidsgräns på 14 dagar bör införas från det att
    remiss har utfärdats"; referral 2026-03-02 + 14 = 2026-03-16."""
    ep = str(uuid4())
    notice = s.limit_notice_given(ep, occurred_at=_day(5))
    clock = _clocks([*_referral(ep), notice], GuaranteePolicy(policy))["referral:r1"]
    assert (clock.answer_due, clock.answered_on) == (due, date(2026, 3, 7) if due else None)


# --- 8. regional limits: shorter, never longer; agreed specialty targets -----------------------


def _rules(**changes: Any) -> dict[str, Any]:
    from importlib.resources import files

    data = json.loads(files("routing.guarantee").joinpath("data/care_guarantee.json").read_text())
    return {**data, **changes}


def test_a_region_may_set_a_shorter_limit() -> None:
    """1177: "Regionerna kan ha andra tidsgränser än vad som gäller enligt vårdgarantin.
    Tidsgränserna kan vara kortare men de kan inte vara längre." """
    row = {"region": "14", "clock": "specialist_visit", "days": 60, "valid_from": "2026-01-01",
           "source": "test: a shorter regional limit"}  # fmt: skip
    rules = parse_rules(json.dumps(_rules(regional_limits=[row])))
    ep = str(uuid4())
    clock = _clocks([*_referral(ep), *_visit(ep, _day(61))], rules=rules)["referral:r1"]
    assert (clock.limit, clock.deadline, clock.status) == (
        60,
        date(2026, 5, 1),
        ClockStatus.breached,
    )


def test_a_longer_regional_limit_is_refused_when_loading() -> None:
    row = {"region": "14", "clock": "treatment", "days": 120, "valid_from": "2026-01-01",
           "source": "test"}  # fmt: skip
    with pytest.raises(GuaranteeDataError, match=r"regional_limits\[0\].*longer than the national"):
        parse_rules(json.dumps(_rules(regional_limits=[row])))


def test_child_and_adolescent_psychiatry_has_a_thirty_day_target() -> None:
    """SOU 2021:59 §4: "inte ska behöva vänta längre än 30 dagar på en första bedömning samt
    ytterligare 30 dagar på en fördjupad utredning eller behandling"."""
    ep = str(uuid4())
    bup = _referral(ep, specialty="child_adolescent_psychiatry")
    clock = _clocks([*bup, *_visit(ep, _day(31))])["referral:r1"]
    assert (clock.status, clock.days, clock.target_days) == (ClockStatus.met, 31, 30)


def test_an_agreement_extends_the_guarantee_to_another_region() -> None:
    """1177: "Några regioner har särskilda överenskommelser. Det gör att vårdgarantin kan gälla
    även i andra regioner än där du bor." With an agreement of region 14 covering region 04,
    a referral to 04 and a request there are measured; without one they are not covered."""
    row = {"home_region": "14", "care_regions": ["04"], "valid_from": "2020-01-01",
           "source": "test: an agreement"}  # fmt: skip
    rules = parse_rules(json.dumps(_rules(coverage_agreements=[row])))
    ep = str(uuid4())
    bodies = [
        s.contact_requested(ep, occurred_at=T, care_region="04", listed_unit_id=s.CARE_UNIT),
        s.referral_issued(ep, occurred_at=T, purpose="first_visit", target_region="04"),
    ]
    covered = {c.kind.value: c for c in episode_clocks((parse_event(b) for b in bodies),
                                                         rules=rules)}  # fmt: skip
    plain = {c.kind.value: c for c in episode_clocks(parse_event(b) for b in bodies)}
    assert (covered["contact"].status, covered["specialist_visit"].status) == (
        ClockStatus.open, ClockStatus.open
    )  # fmt: skip
    assert (plain["contact"].reason, plain["specialist_visit"].reason) == (
        Exclusion.other_region_choice, Exclusion.other_region_choice
    )  # fmt: skip
