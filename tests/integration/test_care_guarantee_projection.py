# Over 300 lines because one read model end to end: late facts, paging, cache, its API.
"""The care-guarantee read model on a real store and read-model database (SQLite and PostgreSQL):
clocks recomputed on late facts and corrections, the same result whatever the page size or
cache, and the /care-guarantee API (summary, breaches, one episode, field-naming 422s)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from routing.config import Settings
from routing.kernel.calendar import STOCKHOLM
from tests import support as s
from tests.auth_support import all_roles
from tests.guarantee_support import GuaranteeHarness

T = datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)
MONTH = "2026-03"
HOME = {"care_region": "14", "listed_unit_id": s.CARE_UNIT}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GuaranteeHarness]:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    h = GuaranteeHarness(settings, tmp_path)
    yield h
    h.close_all()


def _request(ep: str, at: datetime = T, cid: str = "c1", **o: Any) -> dict[str, Any]:
    return s.contact_requested(ep, contact_id=cid, occurred_at=at, **{**HOME, **o})


def _held(ep: str, at: datetime, cid: str = "c1") -> list[dict[str, Any]]:
    return [s.contact_started(ep, contact_id=cid, occurred_at=at),
            s.contact_completed(ep, contact_id=cid, occurred_at=at)]  # fmt: skip


def _needed(ep: str, at: datetime = T + timedelta(minutes=5)) -> dict[str, Any]:
    """The first contact judged that an assessment is needed and could not be made then."""
    return s.medical_assessment_needed(ep, occurred_at=at)


def _episodes() -> dict[str, list[dict[str, Any]]]:
    """Six episodes of home county 14 starting in March 2026 (referrals on 2026-03-02, day 0;
    day 90 = 2026-05-31)."""
    met, late, away, waiting, risky, declined = (str(uuid4()) for _ in range(6))
    visit = T + timedelta(days=90)
    return {
        "met": [
            _request(met), _needed(met), *_held(met, T + timedelta(hours=2)),
            s.referral_issued(met, occurred_at=T, purpose="first_visit"),
            _request(met, visit - timedelta(days=7), "s1", care_level="specialised_outpatient"),
            *_held(met, visit, "s1"),
        ],
        "late": [_request(late), _needed(late), *_held(late, T + timedelta(days=4))],
        "away": [_request(away, care_region="04"), _needed(away),
                 *_held(away, T + timedelta(days=8))],
        "waiting": [_request(waiting, T + timedelta(days=1)),
                    _needed(waiting, T + timedelta(days=1, minutes=5))],
        "risky": [  # booked on 2026-03-07 for 2026-06-10, beyond day 90
            _request(risky), *_held(risky, T + timedelta(hours=1)),
            s.referral_issued(risky, occurred_at=T, purpose="first_visit",
                              specialty="child_adolescent_psychiatry"),
            s.appointment_booked(risky, occurred_at=T + timedelta(days=5),
                                 scheduled_for=datetime(2026, 6, 10, 10, tzinfo=STOCKHOLM)),
        ],
        "declined": [  # informed, offered 2026-04-15, declined on 2026-03-20
            _request(declined), *_held(declined, T + timedelta(hours=1)),
            s.referral_issued(declined, occurred_at=T, purpose="first_visit"),
            s.care_declined(declined, occurred_at=T + timedelta(days=18),
                            offered_for="2026-04-15"),
        ],
    }  # fmt: skip


EXPECTED: dict[str, dict[tuple[str, str], tuple[Any, ...]]] = {
    # (clock, subject) -> (status, days, reason), worked by hand from HSF 6 kap. 1-2 §§
    "met": {("contact", "contact:c1"): ("met", 0, None),
            ("assessment", "contact:c1"): ("met", 0, None),
            ("specialist_visit", "referral:r1"): ("met", 90, None)},
    "late": {("contact", "contact:c1"): ("breached", 4, None),
             ("assessment", "contact:c1"): ("breached", 4, None)},
    "away": {("contact", "contact:c1"): ("excluded", None, "other_region_choice"),
             ("assessment", "contact:c1"): ("excluded", None, "other_region_choice")},
    "waiting": {("contact", "contact:c1"): ("open", None, None),
                ("assessment", "contact:c1"): ("open", None, None)},
    "risky": {("contact", "contact:c1"): ("met", 0, None),
              ("specialist_visit", "referral:r1"): ("open", None, None)},
    "declined": {("contact", "contact:c1"): ("met", 0, None),
                 ("specialist_visit", "referral:r1"): ("excluded", 18, "patient_declined")},
}  # fmt: skip


def _expected(eps: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str, str], Any]:
    return {
        (eps[name][0]["episode_id"], clock, subject): outcome
        for name, clocks in EXPECTED.items()
        for (clock, subject), outcome in clocks.items()
    }


def _app(h: GuaranteeHarness) -> FastAPI:
    return create_app(h.settings, service=h.service, read_models=h.db)


def test_clocks_per_episode(harness: GuaranteeHarness) -> None:
    eps = _episodes()
    harness.record([b for bodies in eps.values() for b in bodies])
    got = {k: (v[0], v[1], v[2]) for k, v in harness.clocks().items()}
    assert got == _expected(eps)
    assert {v[3:] for v in harness.clocks().values()} == {("14", MONTH)}


def test_a_late_fact_recomputes_the_clock(harness: GuaranteeHarness) -> None:
    ep = str(uuid4())
    harness.record([_request(ep), _needed(ep), *_held(ep, T + timedelta(days=6))])
    assert harness.clocks(ep)[(ep, "assessment", "contact:c1")][:2] == ("breached", 6)
    harness.projection.discard_cache()  # the episode's facts are read back from the table
    harness.record([s.triage_completed(ep, occurred_at=T + timedelta(days=7))])  # changes nothing
    assert harness.clocks(ep)[(ep, "assessment", "contact:c1")][:2] == ("breached", 6)
    harness.projection.discard_cache()
    # documented late: a phone assessment on day 2, under a second contact
    harness.record(
        [_request(ep, T + timedelta(days=2), "c2"), *_held(ep, T + timedelta(days=2), "c2")]
    )
    clocks = harness.clocks(ep)
    assert clocks[(ep, "assessment", "contact:c1")][:2] == ("met", 2)
    assert len(clocks) == 3  # c1's two and c2's contact clock: replaced, never duplicated


def test_a_corrected_home_region_moves_and_excludes(harness: GuaranteeHarness) -> None:
    ep = str(uuid4())
    harness.record([_request(ep)])
    assert {v[3] for v in harness.clocks(ep).values()} == {"14"}
    harness.record([s.home_region_corrected(ep, occurred_at=T + timedelta(days=1))])
    assert {v[2:4] for v in harness.clocks(ep).values()} == {("other_region_choice", "13")}


def test_pages_and_cache_do_not_change_the_outcome(harness: GuaranteeHarness) -> None:
    eps = _episodes()
    harness.record([b for bodies in eps.values() for b in bodies], page=1)  # every flush path
    assert {k: v[:3] for k, v in harness.clocks().items()} == _expected(eps)


def _indexes(h: GuaranteeHarness) -> list[str]:
    if h.db.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    names = (r[0] for r in h.query(sql) if not r[0].endswith("pkey"))
    return sorted(n for n in names if n.startswith("care_guarantee"))  # its own, not others'


def test_a_rebuild_swaps_in_the_same_clocks(harness: GuaranteeHarness) -> None:
    harness.record([b for bodies in _episodes().values() for b in bodies])
    before = harness.clocks()
    harness.rebuild()
    assert harness.clocks() == before
    # readers index the swapped-in table again
    with TestClient(_app(harness), headers=all_roles()) as client:
        ok = client.get("/care-guarantee/summary", params={"region": "14", "period": MONTH})
        assert ok.status_code == 200
    assert _indexes(harness) == [
        "care_guarantee_clocks_day", "care_guarantee_clocks_open", "care_guarantee_clocks_region",
        "care_guarantee_clocks_summary",
    ]  # fmt: skip
    harness.rebuild()  # a second rebuild does not trip over names the first one left
    assert harness.clocks() == before


def test_summary_breaches_and_episode_api(harness: GuaranteeHarness) -> None:
    eps = _episodes()
    harness.record([b for bodies in eps.values() for b in bodies])
    ids = {name: bodies[0]["episode_id"] for name, bodies in eps.items()}
    with TestClient(_app(harness), headers=all_roles()) as client:
        body = client.get(
            "/care-guarantee/summary",
            params={"region": "14", "period": MONTH, "as_of": "2026-03-05"},
        ).json()  # the waiting episode's assessment is on day 2 of 3: pending
        assert (body["region"], body["period"], body["as_of"], body["rulebook"]) == (
            "14", {"start": "2026-03-01", "end": "2026-04-01"}, "2026-03-05", "law only"
        )  # fmt: skip
        by = {c["clock"]: c for c in body["clocks"]}
        a = by["assessment"]
        assert (a["met"], a["breached"], a["pending"], a["open"], a["share_within"]) == (
            1, 1, 1, 1, 0.5
        )  # fmt: skip
        assert (a["excluded"], a["excluded_by_reason"]) == (1, {"other_region_choice": 1})
        contact = by["contact"]  # met: met, risky, declined; late ended on day 4; waiting overdue
        assert (contact["met"], contact["breached"], contact["overdue"]) == (3, 2, 1)
        assert contact["share_within"] == 0.6
        v = by["specialist_visit"]
        assert (v["met"], v["pending"], v["at_risk"], v["excluded_by_reason"]) == (
            1, 1, 0, {"patient_declined": 1}
        )  # fmt: skip
        # the risky episode's child psychiatry clock: open, so no share within its 30-day target
        assert (v["target_measured"], v["share_within_target"]) == (0, None)
        assert (by["treatment"]["count"], by["treatment"]["share_within"]) == (0, None)
        listed = sorted((b["episode_id"], b["clock"], b["status"], b["days"])
                        for b in body["breaches"])  # fmt: skip
        assert listed == sorted(
            [(ids["late"], "assessment", "breached", 4), (ids["late"], "contact", "breached", 4),
             (ids["waiting"], "contact", "overdue", 2)]
        )  # fmt: skip
        (target,) = body["follow_up"]  # SOU 2021:59's proposed 80 % within 60 days
        assert (target["id"], target["measured"], target["share"], target["met"]) == (
            "sou-2021-59-visit-60", 1, 0.0, False
        )  # fmt: skip

        one_day = client.get(
            "/care-guarantee/summary",
            params={"region": "14", "period": "2026-03-02..2026-03-02", "as_of": "2026-03-05"},
        ).json()  # the waiting episode started on 2026-03-03: outside  # fmt: skip
        contact = {c["clock"]: c for c in one_day["clocks"]}["contact"]
        assert (contact["met"], contact["breached"], contact["share_within"]) == (3, 1, 0.75)

        backwards = client.get(  # an empty period, answered empty (docs/contracts.md)
            "/care-guarantee/summary",
            params={"region": "14", "period": "2026-03-31..2026-03-01", "as_of": "2026-03-05"},
        )
        assert backwards.status_code == 200, backwards.text
        empty = backwards.json()
        assert empty["period"] == {"start": "2026-03-31", "end": "2026-03-31"}
        assert [c["count"] + c["excluded"] for c in empty["clocks"]] == [0] * len(empty["clocks"])
        assert empty["breaches"] == []
        none = client.get(
            "/care-guarantee/breaches",
            params={"period": "2026-03-31..2026-03-01", "as_of": "2026-03-07"},
        )
        assert (none.status_code, none.json()["total"]) == (200, 0)  # fmt: skip

        later = client.get(
            "/care-guarantee/breaches",
            params={"region": "14", "period": MONTH, "clock": "assessment", "as_of": "2026-03-07"},
        ).json()  # the waiting episode's day 4: an ongoing breach
        assert (later["total"], later["limit"], later["offset"]) == (2, 500, 0)
        assert sorted((b["episode_id"], b["status"], b["days"]) for b in later["items"]) == sorted(
            [(ids["late"], "breached", 4), (ids["waiting"], "overdue", 4)]
        )
        mine = client.get("/care-guarantee/breaches", params={"episode": ids["late"]}).json()
        assert ({b["episode_id"] for b in mine["items"]}, mine["total"]) == ({ids["late"]}, 2)

        risk = client.get("/care-guarantee/at-risk", params={"region": "14", "as_of": "2026-03-07"})
        (item,) = risk.json()["items"]  # booked on 2026-03-07 for 2026-06-10, day 90 = 05-31
        assert (item["episode_id"], item["days_left"], item["booked_for"], item["at_risk"]) == (
            ids["risky"], 85, "2026-06-10", True
        )  # fmt: skip
        before = client.get("/care-guarantee/at-risk", params={"as_of": "2026-03-06"}).json()
        assert before["total"] == 0  # nothing booked yet, warning window opens 2026-05-01

        one = client.get(f"/care-guarantee/episodes/{ids['waiting']}",
                         params={"as_of": "2026-03-06"})  # fmt: skip
        assert one.status_code == 200
        (assessment, contact) = sorted(one.json()["clocks"], key=lambda c: c["clock"])
        assert (assessment["status"], assessment["days"], assessment["deadline"],
                assessment["days_left"]) == ("pending", 3, "2026-03-06", 0)  # fmt: skip
        assert contact["status"] == "overdue"
        sources = {t["source"] for t in assessment["trace"]}
        assert "HSF (2017:80) 6 kap. 1 § 2" in sources
        declined = client.get(f"/care-guarantee/episodes/{ids['declined']}").json()
        (visit,) = [c for c in declined["clocks"] if c["clock"] == "specialist_visit"]
        assert [(x["reason"], x["on"]) for x in visit["exclusions"]] == [
            ("patient_declined", "2026-03-20")
        ]
        assert client.get(f"/care-guarantee/episodes/{uuid4()}").status_code == 404


def test_the_fourteen_day_answer_is_switched_by_a_setting(
    tmp_path: Path, sqlite_settings: Settings
) -> None:
    """SOU 2021:59 §6.11.2 (a proposal): "En tidsgräns på 14 dagar bör införas från det att
    remiss har utfärdats": a referral of 2026-03-02 with no answer is late from 2026-03-17."""
    settings = sqlite_settings.model_copy(update={"guarantee_answer_rule_from": date(2026, 1, 1)})
    h = GuaranteeHarness(settings, tmp_path)
    try:
        ep = str(uuid4())
        h.record([_request(ep), s.referral_issued(ep, occurred_at=T, purpose="first_visit")])
        with TestClient(_app(h), headers=all_roles()) as client:

            def late(as_of: str) -> tuple[str, int]:
                body = client.get(
                    "/care-guarantee/summary",
                    params={"region": "14", "period": MONTH, "as_of": as_of},
                ).json()
                by = {c["clock"]: c for c in body["clocks"]}
                return body["rulebook"], by["specialist_visit"]["answers_late"]

            assert late("2026-03-16") == ("sou-2021-59-besked from 2026-01-01", 0)
            assert late("2026-03-17") == ("sou-2021-59-besked from 2026-01-01", 1)
            (clock,) = [
                c
                for c in client.get(f"/care-guarantee/episodes/{ep}").json()["clocks"]
                if c["clock"] == "specialist_visit"
            ]
            assert clock["answer_due"] == "2026-03-16"
    finally:
        h.close_all()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/care-guarantee/summary", {"region": "1", "period": MONTH}, "region"),
        ("/care-guarantee/summary", {"region": "14", "period": "2026-13"}, "period"),
        ("/care-guarantee/summary", {"period": MONTH}, "region"),
        ("/care-guarantee/summary", {"region": "14"}, "period"),
        ("/care-guarantee/summary", {"region": "14", "month": MONTH}, "month"),  # unknown now
        ("/care-guarantee/breaches", {"from": "2026-03-01", "to": "2026-03-05"}, "from"),
        ("/care-guarantee/at-risk", {"period": "2026-03-05..2026-02-30"}, "period"),
        ("/care-guarantee/at-risk", {"age_band": "old"}, "age_band"),
        (
            "/care-guarantee/summary",
            {"region": "14", "period": "0001-01-01..9999-12-31"},
            "period",
        ),
        ("/care-guarantee/breaches", {"specialty": "astrology"}, "specialty"),
        ("/care-guarantee/breaches", {"clock": "waiting_room"}, "clock"),
        ("/care-guarantee/breaches", {"as_of": "yesterday"}, "as_of"),
        ("/care-guarantee/episodes/not-a-uuid", {}, "episode_id"),
    ],
)
def test_validation_errors_name_the_field(
    tmp_path: Path, sqlite_settings: Settings, path: str, params: dict[str, str], field: str
) -> None:
    h = GuaranteeHarness(sqlite_settings, tmp_path)
    try:
        with TestClient(_app(h), headers=all_roles()) as client:
            response = client.get(path, params=params)
        assert response.status_code == 422
        assert response.json()["field"].split(".")[-1] == field
    finally:
        h.close_all()
