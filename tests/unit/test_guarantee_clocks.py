"""The care-guarantee clocks (R16): Swedish calendar days at the 0/3/90/91 boundaries, midnight
and daylight-saving edges, what ends a clock, what excludes it, and late facts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from routing.episodes.events import parse_event
from routing.guarantee import Clock, ClockKind, ClockStatus, Exclusion, episode_clocks
from routing.guarantee.days import STOCKHOLM, days_between, overdue, swedish_date
from tests import support as s

T = datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)  # a Monday, listing rule in force
HOME = {"care_region": "14", "listed_unit_id": s.CARE_UNIT}  # the patient's own vårdcentral


def _clocks(bodies: list[dict[str, Any]]) -> dict[tuple[str, str], Clock]:
    return {(c.kind.value, c.subject_id): c for c in episode_clocks(parse_event(b) for b in bodies)}


def _request(ep: str, at: datetime = T, cid: str = "c1", **o: Any) -> dict[str, Any]:
    return s.contact_requested(ep, contact_id=cid, occurred_at=at, **{**HOME, **o})


def _held(ep: str, at: datetime, cid: str = "c1", **o: Any) -> list[dict[str, Any]]:
    """A distance contact started and completed at ``at`` (qualified care by a doctor)."""
    return [
        s.contact_started(ep, contact_id=cid, occurred_at=at),
        s.contact_completed(ep, contact_id=cid, occurred_at=at, **o),
    ]


# --- day counting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (T, T.replace(hour=23, minute=59), 0),  # the same Swedish day
        (T.replace(hour=23, minute=59), T.replace(hour=23, minute=59) + timedelta(minutes=2), 1),
        # 22:30 UTC is 23:30 in winter (CET) but 00:30 the next day in summer (CEST)
        (T, datetime(2026, 3, 2, 22, 30, tzinfo=UTC), 0),
        (T, datetime(2026, 3, 2, 23, 30, tzinfo=UTC), 1),
        (datetime(2026, 7, 1, 9, tzinfo=STOCKHOLM), datetime(2026, 7, 1, 22, 30, tzinfo=UTC), 1),
        # spring forward (2026-03-29 has 23 hours): 70 real hours, yet 3 calendar days
        (datetime(2026, 3, 28, 12, tzinfo=STOCKHOLM),
         datetime(2026, 3, 31, 11, tzinfo=STOCKHOLM), 3),
        # fall back (2025-10-26 has 25 hours): 72 real hours, yet 2 calendar days
        (datetime(2025, 10, 24, 0, 30, tzinfo=STOCKHOLM),
         datetime(2025, 10, 26, 23, 30, tzinfo=STOCKHOLM), 2),
        (T, T + timedelta(days=90), 90),
        (T, T + timedelta(days=91), 91),
    ],
)  # fmt: skip
def test_days_are_swedish_calendar_days(start: datetime, end: datetime, days: int) -> None:
    assert days_between(start, end) == days


def test_naive_times_have_no_swedish_date() -> None:
    with pytest.raises(ValueError, match="naive"):
        swedish_date(datetime(2026, 3, 2, 9))


def test_open_clock_is_pending_through_its_deadline_and_overdue_after() -> None:
    clock = _clocks([_request(str(uuid4()))])[("assessment", "contact:c1")]
    assert clock.status is ClockStatus.open
    assert clock.deadline == date(2026, 3, 5)
    assert clock.on(date(2026, 3, 5)) == ("pending", 3)
    assert clock.on(date(2026, 3, 6)) == ("overdue", 4)
    assert not overdue(T, ClockKind.treatment, date(2026, 5, 31))  # day 90
    assert overdue(T, ClockKind.treatment, date(2026, 6, 1))  # day 91


# --- boundaries of each clock ------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "status"),
    [(timedelta(hours=14, minutes=59), "met"), (timedelta(hours=15, minutes=1), "breached")],
)
def test_contact_clock_is_the_same_swedish_day(after: timedelta, status: str) -> None:
    ep = str(uuid4())  # requested 09:00; 23:59 is day 0, 00:01 day 1
    c = _clocks([_request(ep), s.contact_started(ep, occurred_at=T + after)])
    assert c[("contact", "contact:c1")].status.value == status


@pytest.mark.parametrize(("days", "status"), [(0, "met"), (3, "met"), (4, "breached")])
def test_assessment_within_three_days(days: int, status: str) -> None:
    ep = str(uuid4())
    late = T.replace(hour=23, minute=50) + timedelta(days=days)
    clock = _clocks([_request(ep), *_held(ep, late)])[("assessment", "contact:c1")]
    assert (clock.status.value, clock.days) == (status, days)


@pytest.mark.parametrize(("days", "status"), [(0, "met"), (90, "met"), (91, "breached")])
def test_specialist_visit_within_ninety_days_of_the_referral(days: int, status: str) -> None:
    ep = str(uuid4())
    visit = T + timedelta(days=days, hours=1)
    clock = _clocks(
        [_request(ep), *_held(ep, T), s.referral_issued(ep, occurred_at=T),
         _request(ep, visit - timedelta(days=1), "s1", care_level="specialised_outpatient"),
         *_held(ep, visit, "s1")]
    )[("specialist_visit", "referral:r1")]  # fmt: skip
    assert (clock.status.value, clock.days, clock.basis) == (
        status, days, "contact_completed s1"
    )  # fmt: skip


@pytest.mark.parametrize(("days", "status"), [(90, "met"), (91, "breached")])
def test_treatment_within_ninety_days_by_the_proxy(days: int, status: str) -> None:
    ep, done = str(uuid4()), T + timedelta(days=days)
    bodies = [
        _request(ep), *_held(ep, T), s.treatment_decided(ep, occurred_at=T + timedelta(hours=1)),
        _request(ep, T + timedelta(days=2), "t1c", care_unit_id=s.CLINIC),
        s.physical_visit_booked(ep, contact_id="t1c", occurred_at=T + timedelta(days=2),
                                scheduled_for=done),
        s.physical_visit_held(ep, contact_id="t1c", occurred_at=done),
    ]  # fmt: skip
    clock = _clocks(bodies)[("treatment", "treatment:t1")]
    assert (clock.status.value, clock.days) == (status, days)
    assert clock.basis.startswith("proxy: physical_visit_held t1c")


def test_the_deciding_contact_itself_is_not_the_treatment() -> None:
    ep = str(uuid4())  # the decision is made during a visit at the clinic, which ends after it
    bodies = [
        _request(ep, cid="v", care_unit_id=s.CLINIC),
        s.physical_visit_booked(ep, contact_id="v", occurred_at=T),
        s.treatment_decided(ep, occurred_at=T + timedelta(minutes=5)),
        s.physical_visit_held(ep, contact_id="v", occurred_at=T + timedelta(minutes=20)),
    ]
    assert _clocks(bodies)[("treatment", "treatment:t1")].status is ClockStatus.open


# --- what counts as an assessment --------------------------------------------------------


@pytest.mark.parametrize(
    "completion",
    [{"content": "advice_only"}, {"profession": "assistant_nurse"}],
    ids=["advice_only", "unlicensed"],
)
def test_advice_or_unlicensed_staff_is_no_assessment(completion: dict[str, str]) -> None:
    ep = str(uuid4())
    c = _clocks([_request(ep), *_held(ep, T + timedelta(hours=1), **completion)])
    assert c[("contact", "contact:c1")].status is ClockStatus.met  # contact, yes
    assert c[("assessment", "contact:c1")].status is ClockStatus.open  # assessment, no


def test_phone_and_physical_visits_count_as_assessments() -> None:
    ep = str(uuid4())
    phone = _clocks([_request(ep), *_held(ep, T + timedelta(days=1), mode="phone")])
    assert phone[("assessment", "contact:c1")].status is ClockStatus.met
    ep = str(uuid4())
    visit = _clocks(
        [_request(ep, requested_mode="physical"),
         s.physical_visit_booked(ep, occurred_at=T),
         s.physical_visit_held(ep, occurred_at=T + timedelta(days=2), profession="nurse")]
    )  # fmt: skip
    assert visit[("assessment", "contact:c1")].days == 2


def test_a_later_request_after_an_assessment_owes_no_new_assessment() -> None:
    ep = str(uuid4())
    c = _clocks([_request(ep), *_held(ep, T), _request(ep, T + timedelta(days=5), "c2")])
    assert ("assessment", "contact:c2") not in c
    assert c[("contact", "contact:c2")].status is ClockStatus.open


# --- exclusions --------------------------------------------------------------------------


def test_care_chosen_in_another_region_is_not_covered() -> None:
    ep = str(uuid4())
    c = _clocks(
        [_request(ep, care_region="04"), *_held(ep, T + timedelta(days=9)),
         s.referral_issued(ep, occurred_at=T, target_region="01")]
    )  # fmt: skip
    assert {k: v.reason for k, v in c.items()} == {
        ("contact", "contact:c1"): Exclusion.other_region_choice,
        ("assessment", "contact:c1"): Exclusion.other_region_choice,
        ("specialist_visit", "referral:r1"): Exclusion.other_region_choice,
    }


def test_a_corrected_home_region_decides_coverage_and_region() -> None:
    ep = str(uuid4())
    home = {"county": "04", "municipality": "0480"}
    c = _clocks([_request(ep, care_region="04"), s.home_region_corrected(ep, home_region=home)])
    assert c[("contact", "contact:c1")].status is ClockStatus.open
    assert c[("contact", "contact:c1")].home_region == "04"


@pytest.mark.parametrize(
    ("at", "listed", "expected"),
    [
        (T, None, Exclusion.listing_unknown),
        (T, s.CLINIC, Exclusion.not_listed_here),
        (datetime(2022, 6, 30, 23, 30, tzinfo=STOCKHOLM), None, None),  # before the reform
        (datetime(2022, 7, 1, 0, 30, tzinfo=STOCKHOLM), None, Exclusion.listing_unknown),
    ],
)
def test_steps_one_and_two_only_where_listed_from_july_2022(
    at: datetime, listed: str | None, expected: Exclusion | None
) -> None:
    ep = str(uuid4())
    c = _clocks([_request(ep, at, listed_unit_id=listed)])
    assert c[("contact", "contact:c1")].reason is expected
    assert c[("assessment", "contact:c1")].reason is expected


def test_no_three_day_assessment_before_2019() -> None:
    c = _clocks([_request(str(uuid4()), datetime(2018, 12, 31, 12, tzinfo=STOCKHOLM))])
    assert c[("assessment", "contact:c1")].reason is Exclusion.not_in_force
    assert c[("contact", "contact:c1")].status is ClockStatus.open


@pytest.mark.parametrize(("days", "status"), [(90, "excluded"), (91, "breached")])
def test_a_declined_offer_excludes_a_90_day_clock_unless_already_breached(
    days: int, status: str
) -> None:
    ep = str(uuid4())
    at = T + timedelta(days=days)
    clock = _clocks(
        [s.referral_issued(ep, occurred_at=T),
         _request(ep, at - timedelta(days=1), "s1", care_level="specialised_outpatient"),
         s.distance_contact_offered(ep, contact_id="s1", occurred_at=at),
         s.offer_declined(ep, contact_id="s1", occurred_at=at)]
    )[("specialist_visit", "referral:r1")]  # fmt: skip
    assert (clock.status.value, clock.days) == (status, days)
    if status == "excluded":
        assert clock.reason is Exclusion.offer_declined


def test_declined_offers_do_not_touch_the_primary_care_clocks() -> None:
    ep = str(uuid4())
    c = _clocks(
        [_request(ep), s.distance_contact_offered(ep, occurred_at=T),
         s.offer_declined(ep, occurred_at=T)]
    )  # fmt: skip
    assert c[("assessment", "contact:c1")].status is ClockStatus.open


@pytest.mark.parametrize(
    ("reason", "status"),
    [("patient_cancelled", "excluded"), ("patient_did_not_attend", "excluded"),
     ("provider_cancelled", "open"), ("recorded_in_error", "excluded")],
)  # fmt: skip
def test_who_cancelled_decides(reason: str, status: str) -> None:
    ep = str(uuid4())
    c = _clocks([_request(ep), s.contact_cancelled(ep, occurred_at=T, reason=reason)])
    assert c[("assessment", "contact:c1")].status.value == status


def test_rejected_referral_and_self_care_triage_exclude() -> None:
    ep = str(uuid4())
    c = _clocks(
        [_request(ep), s.triage_completed(ep, occurred_at=T, urgency="self_care"),
         s.referral_issued(ep, occurred_at=T), s.referral_rejected(ep, occurred_at=T)]
    )  # fmt: skip
    assert c[("assessment", "contact:c1")].reason is Exclusion.not_needed
    assert c[("contact", "contact:c1")].reason is Exclusion.not_needed  # algorithm triage
    assert c[("specialist_visit", "referral:r1")].reason is Exclusion.referral_rejected


def test_triage_by_a_nurse_is_the_same_day_contact() -> None:
    ep = str(uuid4())
    nurse = {"kind": "profession", "profession": "nurse"}
    c = _clocks([_request(ep), s.triage_completed(ep, occurred_at=T, urgency="self_care",
                                                  triaged_by=nurse)])  # fmt: skip
    assert c[("contact", "contact:c1")].status is ClockStatus.met
    assert c[("assessment", "contact:c1")].reason is Exclusion.not_needed


def test_a_self_referral_starts_the_specialist_clock_at_the_request() -> None:
    ep = str(uuid4())
    c = _clocks([_request(ep, care_level="specialised_outpatient"), *_held(ep, T + timedelta(30))])
    assert set(c) == {("specialist_visit", "contact:c1")}
    assert c[("specialist_visit", "contact:c1")].days == 30


# --- late facts ----------------------------------------------------------------------------


def test_a_fact_recorded_late_is_counted_where_it_happened() -> None:
    ep = str(uuid4())
    on_time = [_request(ep), *_held(ep, T + timedelta(days=6))]
    assert _clocks(on_time)[("assessment", "contact:c1")].status is ClockStatus.breached
    late = [_request(ep, T + timedelta(days=1), "c2"), *_held(ep, T + timedelta(days=2), "c2")]
    clock = _clocks(on_time + late)[("assessment", "contact:c1")]  # recorded after, happened before
    assert (clock.status, clock.days, clock.basis) == (
        ClockStatus.met, 2, "contact_completed c2"
    )  # fmt: skip
