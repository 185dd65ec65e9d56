"""The primary-care clocks of the care guarantee (HSF 6 kap. 1 § 1-2): Swedish calendar days at
the 0/3 boundaries, midnight and daylight-saving edges, when a 3-day clock exists at all, what
counts as an assessment, coverage, and late facts. Expected values are worked by hand from the
law's text as SOU 2021:59 quotes it (quoted in each test), never from the code under test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from routing.episodes.events import parse_event
from routing.guarantee import Clock, ClockStatus, Exclusion, episode_clocks
from routing.guarantee.days import days_between
from routing.kernel.calendar import STOCKHOLM, swedish_date
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


def _needed(ep: str, at: datetime = T + timedelta(minutes=10), cid: str = "c1") -> dict[str, Any]:
    """The nurse at the first contact judged an assessment needed that she could not make."""
    return s.medical_assessment_needed(ep, contact_id=cid, occurred_at=at)


# --- 1. contact the same day (0) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "status", "days"),
    [(timedelta(hours=14, minutes=59), "met", 0), (timedelta(hours=15, minutes=1), "breached", 1)],
)
def test_contact_clock_is_the_same_swedish_day(after: timedelta, status: str, days: int) -> None:
    """HSF 6 kap. 1 § 1: "kontakt med primärvården samma dag som den enskilde söker kontakt med
    primärvården". Requested 09:00: 23:59 is still that day (day 0), 00:01 the next (day 1)."""
    ep = str(uuid4())
    clock = _clocks([_request(ep), s.contact_started(ep, occurred_at=T + after)])[
        ("contact", "contact:c1")
    ]
    assert (clock.status.value, clock.days, clock.deadline) == (status, days, date(2026, 3, 2))


@pytest.mark.parametrize("mode", ["phone", "video"])
def test_phone_and_video_are_contacts(mode: str) -> None:
    """1177: "Kontakten kan ske till exempel genom telefonsamtal, ett besök eller ett
    videosamtal." """
    ep = str(uuid4())
    c = _clocks([_request(ep), s.contact_started(ep, occurred_at=T, mode=mode)])
    assert c[("contact", "contact:c1")].status is ClockStatus.met


# --- 2. medical assessment within 3 days, only when judged needed ---------------------------


def test_no_three_day_clock_without_the_providers_judgement() -> None:
    """HSF 6 kap. 1 § 2: the assessment is owed "om vårdgivaren har bedömt att den enskilde
    behöver få en medicinsk bedömning och en sådan inte kan göras när den enskilde först söker
    kontakt". No judgement recorded: only the contact clock."""
    ep = str(uuid4())
    assert set(_clocks([_request(ep), *_held(ep, T + timedelta(days=6))])) == {
        ("contact", "contact:c1")
    }


def test_an_assessment_at_the_first_contact_means_no_three_day_clock() -> None:
    """Same line: the clock exists only if the assessment "inte kan göras när den enskilde först
    söker kontakt"; a doctor's qualified contact before the judgement was that assessment."""
    ep = str(uuid4())
    bodies = [_request(ep), *_held(ep, T + timedelta(minutes=5)), _needed(ep)]
    assert ("assessment", "contact:c1") not in _clocks(bodies)


@pytest.mark.parametrize(("days", "status"), [(0, "met"), (3, "met"), (4, "breached")])
def test_assessment_within_three_days_from_the_request(days: int, status: str) -> None:
    """HSF 6 kap. 1 § 2: "inom tre dagar från det att den enskilde har sökt kontakt": the day of
    the request is day 0, day 3 is within (23:50 on 2026-03-05 for a request on 2026-03-02)."""
    ep = str(uuid4())
    late = T.replace(hour=23, minute=50) + timedelta(days=days)
    clock = _clocks([_request(ep), _needed(ep), *_held(ep, late)])[("assessment", "contact:c1")]
    assert (clock.status.value, clock.days, clock.deadline) == (status, days, date(2026, 3, 5))
    assert any("day 0" in t.finding and t.rule == "day count" for t in clock.trace)


@pytest.mark.parametrize("profession", ["nurse", "physiotherapist", "psychotherapist"])
def test_another_licensed_professional_may_assess(profession: str) -> None:
    """1177: "Du ska få en medicinsk bedömning av en läkare eller annan legitimerad
    sjukvårdspersonal ... till exempel en sjuksköterska, psykoterapeut eller fysioterapeut." """
    ep = str(uuid4())
    at = T + timedelta(days=2)
    c = _clocks([_request(ep), _needed(ep), *_held(ep, at, profession=profession)])
    assert (c[("assessment", "contact:c1")].status, c[("assessment", "contact:c1")].days) == (
        ClockStatus.met, 2
    )  # fmt: skip


@pytest.mark.parametrize(
    "completion",
    [{"content": "advice_only"}, {"profession": "assistant_nurse"}],
    ids=["advice_only", "unlicensed"],
)
def test_advice_or_unlicensed_staff_is_no_assessment(completion: dict[str, str]) -> None:
    """An assessment is by "läkare eller annan legitimerad hälso- och sjukvårdspersonal";
    1177-type advice ("Du kan också få råd om vad du kan göra själv") is not one (domain R3)."""
    ep = str(uuid4())
    c = _clocks([_request(ep), _needed(ep), *_held(ep, T + timedelta(hours=1), **completion)])
    assert c[("contact", "contact:c1")].status is ClockStatus.met  # contact, yes
    assert c[("assessment", "contact:c1")].status is ClockStatus.open  # assessment, no


def test_a_physical_visit_by_a_nurse_is_an_assessment() -> None:
    """1177: "Den medicinska bedömningen kan göras vid ett fysiskt besök eller genom till
    exempel ett videosamtal." """
    ep = str(uuid4())
    visit = _clocks(
        [_request(ep, requested_mode="physical"), _needed(ep),
         s.physical_visit_booked(ep, occurred_at=T + timedelta(minutes=20)),
         s.physical_visit_held(ep, occurred_at=T + timedelta(days=2), profession="nurse")]
    )  # fmt: skip
    assert visit[("assessment", "contact:c1")].days == 2


def test_no_three_day_assessment_before_2019() -> None:
    """The 3-day assessment replaced the 7-day doctor's visit from 2019-01-01 (SFS 2018:553)."""
    ep, at = str(uuid4()), datetime(2018, 12, 31, 12, tzinfo=STOCKHOLM)
    c = _clocks([_request(ep, at), _needed(ep, at + timedelta(minutes=1))])
    assert c[("assessment", "contact:c1")].reason is Exclusion.not_in_force


# --- who is covered -----------------------------------------------------------------------


def test_care_chosen_in_another_region_is_not_covered() -> None:
    """HSL 8 kap. 3 §: "en patient som söker sådan vård i en annan region inte omfattas av
    regionens vårdgaranti enligt 9 kap. 1 § HSL"."""
    ep = str(uuid4())
    c = _clocks([_request(ep, care_region="04"), _needed(ep), *_held(ep, T + timedelta(days=9))])
    assert {k: (v.status, v.reason) for k, v in c.items()} == {
        ("contact", "contact:c1"): (ClockStatus.excluded, Exclusion.other_region_choice),
        ("assessment", "contact:c1"): (ClockStatus.excluded, Exclusion.other_region_choice),
    }
    assert c[("contact", "contact:c1")].exclusions[0].on == date(2026, 3, 2)


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
    c = _clocks([_request(ep, at, listed_unit_id=listed), _needed(ep, at)])
    assert c[("contact", "contact:c1")].reason is expected
    assert c[("assessment", "contact:c1")].reason is expected


@pytest.mark.parametrize(
    ("reason", "status"),
    [("patient_cancelled", "excluded"), ("patient_did_not_attend", "excluded"),
     ("provider_cancelled", "open"), ("recorded_in_error", "excluded")],
)  # fmt: skip
def test_who_cancelled_decides(reason: str, status: str) -> None:
    ep = str(uuid4())
    c = _clocks([_request(ep), _needed(ep), s.contact_cancelled(ep, occurred_at=T, reason=reason)])
    assert c[("assessment", "contact:c1")].status.value == status


def test_self_care_triage_and_nurse_triage() -> None:
    ep = str(uuid4())
    nurse = {"kind": "profession", "profession": "nurse"}
    c = _clocks([_request(ep), s.triage_completed(ep, occurred_at=T, urgency="self_care",
                                                  triaged_by=nurse)])  # fmt: skip
    assert c[("contact", "contact:c1")].status is ClockStatus.met  # the nurse was the contact
    algorithm = _clocks([_request(ep), s.triage_completed(ep, occurred_at=T, urgency="self_care")])
    assert algorithm[("contact", "contact:c1")].reason is Exclusion.not_needed


# --- traces and late facts -------------------------------------------------------------------


def test_every_step_cites_a_public_source_or_a_project_choice() -> None:
    ep = str(uuid4())
    c = _clocks([_request(ep), _needed(ep), *_held(ep, T + timedelta(days=1))])
    sources = {t.source for clock in c.values() for t in clock.trace}
    assert "HSF (2017:80) 6 kap. 1 § 2" in sources
    assert all(("seed" not in x and "shared" not in x and x) for x in sources), sources


def test_a_fact_recorded_late_is_counted_where_it_happened() -> None:
    ep = str(uuid4())
    on_time = [_request(ep), _needed(ep), *_held(ep, T + timedelta(days=6))]
    assert _clocks(on_time)[("assessment", "contact:c1")].status is ClockStatus.breached
    late = [_request(ep, T + timedelta(days=1), "c2"), *_held(ep, T + timedelta(days=2), "c2")]
    clock = _clocks(on_time + late)[("assessment", "contact:c1")]  # recorded after, happened before
    assert (clock.status, clock.days, clock.basis) == (
        ClockStatus.met, 2, "contact_completed c2"
    )  # fmt: skip
