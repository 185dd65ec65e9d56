# Over 300 lines because one read model end to end: hand-counted data, replay, its API.
"""The indicators read model on a real store and read-model database (SQLite and PostgreSQL),
with a small data set counted by hand; replay from the store gives the same read model; and
the /indicators API (figures with definitions, roles, access trail, bad periods).

The data set, March 2026 unless said (home region 14, Göteborg 1480, unless said):
  a  Kry-like (private, Sörmland's contract) chat, doctor, assessed first  -> 500 SEK
  b  Joint Academy-like (private, Sörmland) video, physiotherapist, assessed -> 275 SEK
  c  Kry-like chat, nurse, no assessment: not obliged (Ds 2023:27)         -> 0 SEK
  d  VGR's own digital door, chat, nurse, same day: 3-day clock met
  e  VGR's own vårdcentral, physical visit 5 days after the request: clock breached
  f  an unlisted provider (Sörmland's contract), chat, doctor, Mölndal 1481 -> entry path unknown
  g  asylum seeker (99), Kry-like chat, doctor, assessed                    -> 500 SEK
  h  like a, but in April: outside the period
  i  Stockholm (01, 0180), Kry-like chat, doctor, assessed                  -> 500 SEK
  j  VGR's own digital door, requested by chat, nothing since: open, overdue on 30 April
Prices: Region Sörmland invoices VGR 500 kr for a digital doctor's contact and 275 kr for a
digital physiotherapist's (Västra Götalandsregionen, 'Hur fungerar digitala vårdbesök?').
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from projections.compare import compare
from projections.indicators import build
from projections.replay import open_scratch, replay
from routing.access import Role
from routing.config import Settings
from routing.kernel.calendar import STOCKHOLM
from tests import kafka_support as ks
from tests import support as s
from tests.auth_support import all_roles, bearer
from tests.projection_harness import ProjectionHarness

T = datetime(2026, 3, 10, 9, 0, tzinfo=STOCKHOLM)
KRY, KRY_UNIT = "SE5569990001-KRY", "SE5569990001-VC01"
JA, JA_UNIT = "SE5569990004-JA", "SE5569990004-RH01"
VGR, VGR_DIGITAL, VGR_VC = "SE2321000014-RG", "SE2321000014-DIG1", "SE2321000014-VC1480"
SORMLAND_CRITERIA = {
    "criteria_set": {"id": "national-digital", "version": "2025.1", "owning_region": None},
    "answered_criteria": ["p1", "p2", "p3", "p4", "n1", "n2", "n3"],
}
MARCH = {"period": "2026-03-01..2026-03-31", "as_of": "2026-04-30"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProjectionHarness]:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    h = ProjectionHarness(settings, tmp_path, build)
    yield h
    h.close_all()


def _digital(provider: str, unit: str, profession: str, mode: str = "chat", at: datetime = T,
             assessed: bool = True, **o: Any) -> list[dict[str, Any]]:  # fmt: skip
    ep = str(uuid4())
    out = [s.contact_requested(ep, occurred_at=at, provider_id=provider, care_unit_id=unit,
                               requested_mode=mode, **o)]  # fmt: skip
    if assessed:
        out.append(
            s.need_and_suitability_assessed(
                ep, occurred_at=at + timedelta(minutes=5), **SORMLAND_CRITERIA
            )
        )
    return [
        *out,
        s.contact_started(ep, occurred_at=at + timedelta(minutes=10), mode=mode,
                          profession=profession),
        s.contact_completed(ep, occurred_at=at + timedelta(minutes=20), mode=mode,
                            profession=profession),
    ]  # fmt: skip


def _own_region(mode: str, done_after: timedelta | None) -> list[dict[str, Any]]:
    ep = str(uuid4())
    unit = VGR_DIGITAL if mode != "physical" else VGR_VC
    out = [
        s.contact_requested(ep, occurred_at=T, provider_id=VGR, care_unit_id=unit,
                            requested_mode=mode, care_region="14", listed_unit_id=unit)
    ]  # fmt: skip
    # The provider judged a medical assessment needed that the first contact could not make
    # (HSF 6 kap. 1 § 2): only that starts the three-day clock.
    out.append(s.medical_assessment_needed(ep, occurred_at=T + timedelta(minutes=2)))
    if done_after is None:
        return out
    at = T + done_after
    if mode == "physical":
        booked = s.physical_visit_booked(
            ep, occurred_at=T + timedelta(hours=1), care_unit_id=VGR_VC, scheduled_for=at
        )
        return [*out, booked, s.physical_visit_held(ep, occurred_at=at, profession="doctor")]
    return [
        *out,
        s.contact_started(ep, occurred_at=at, mode=mode, profession="nurse"),
        s.contact_completed(ep, occurred_at=at + timedelta(minutes=9), mode=mode,
                            profession="nurse"),
    ]  # fmt: skip


def _data_set() -> list[dict[str, Any]]:
    asylum = {"home_region": {"county": "99", "municipality": "9901"}}
    return [
        *_digital(KRY, KRY_UNIT, "doctor"),                                        # a
        *_digital(JA, JA_UNIT, "physiotherapist", "video"),                       # b
        *_digital(KRY, KRY_UNIT, "nurse", assessed=False),                        # c
        *_own_region("chat", timedelta(hours=1)),                                 # d
        *_own_region("physical", timedelta(days=5)),                              # e
        *_digital(s.PROVIDER, s.CARE_UNIT, "doctor", assessed=False,
                  home_region={"county": "14", "municipality": "1481"}),          # f
        *_digital(KRY, KRY_UNIT, "doctor", **asylum),                             # g
        *_digital(KRY, KRY_UNIT, "doctor", at=T + timedelta(days=30)),            # h
        *_digital(KRY, KRY_UNIT, "doctor",
                  home_region={"county": "01", "municipality": "0180"}),          # i
        *_own_region("chat", None),                                               # j
    ]  # fmt: skip


def _figures(body: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(f["id"], f["group"]): f for f in body["figures"]}


def _client(h: ProjectionHarness) -> TestClient:
    return TestClient(create_app(h.settings, service=h.service, read_models=h.db))


def test_region_figures_counted_by_hand(harness: ProjectionHarness) -> None:
    harness.record(_data_set(), page=3)
    with _client(harness) as client:
        r = client.get("/indicators/regions/14", params=MARCH, headers=all_roles())
        assert r.status_code == 200, r.text
        body = r.json()
    f = _figures(body)
    assert body["population"]["inhabitants"] == 1_772_821  # SCB, VGR 31 Dec 2024
    assert body["population"]["carried_forward"] is True
    assert f[("out_of_region_digital_contacts", None)]["value"] == 4  # a b c f
    per_1000 = f[("out_of_region_digital_per_1000", None)]
    assert per_1000["value"] == pytest.approx(4 * 1000 / 1_772_821, abs=1e-6)
    assert f[("out_of_region_digital_cost", None)]["value"] == 775  # 500 + 275 + 0 + 0
    assert f[("cost_per_inhabitant", None)]["value"] == pytest.approx(775 / 1_772_821, abs=1e-6)
    share = f[("share_of_national_cost", None)]
    assert (share["numerator"], share["denominator"], share["value"]) == (775, 1275, 60.78)
    assert {g: x["value"] for (i, g), x in f.items() if i == "profession_share"} == {
        "doctor": 50.0, "physiotherapist": 25.0, "nurse": 25.0}  # fmt: skip
    assert {g: x["value"] for (i, g), x in f.items() if i == "mode_share"} == {
        "chat": 75.0, "video": 25.0}  # fmt: skip
    assert {g: x["value"] for (i, g), x in f.items() if i == "contacts_by_entry_path"} == {
        "private_digital/out_of_region/primary": 3, "unknown/out_of_region/primary": 1,
        "regional_digital/in_region/primary": 1, "regional_physical/in_region/primary": 1,
    }  # fmt: skip
    overall = f[("assessment_within_3_days", None)]
    assert (overall["numerator"], overall["denominator"]) == (1, 3)  # d met; e, j late
    digital = f[("assessment_within_3_days_after_digital", None)]
    assert (digital["numerator"], digital["denominator"], digital["value"]) == (1, 2, 50.0)
    for figure in body["figures"]:
        assert figure["definition"]["period"] == "2026-03-01..2026-03-31 inclusive, Swedish dates"
        assert figure["definition"]["numerator"]
        assert figure["definition"]["source"]


def test_municipalities_asylum_seekers_and_the_national_view(harness: ProjectionHarness) -> None:
    harness.record(_data_set())
    with _client(harness) as client:
        munis = client.get("/indicators/regions/14/municipalities", params=MARCH,
                           headers=all_roles()).json()  # fmt: skip
        asylum = client.get("/indicators/regions/99", params=MARCH, headers=all_roles()).json()
        national = client.get("/indicators/national", params=MARCH, headers=all_roles()).json()
    per_1000 = {m["area"]: _figures(m)[("out_of_region_digital_per_1000", None)] for m in munis}
    assert per_1000["1480"]["value"] == pytest.approx(3 * 1000 / 608_993, abs=1e-6)
    assert per_1000["1481"]["value"] == pytest.approx(1 * 1000 / 71_420, abs=1e-6)
    f = _figures(asylum)
    assert f[("out_of_region_digital_contacts", None)]["value"] == 1
    assert f[("cost_per_inhabitant", None)]["status"] == "not_applicable"
    assert f[("cost_per_inhabitant", None)]["value"] is None
    n = _figures(national)
    assert n[("out_of_region_digital_contacts", None)]["value"] == 5  # a b c f i; not g (99)
    assert n[("out_of_region_digital_cost", None)]["value"] == 1275
    assert n[("cost_per_inhabitant", None)]["value"] == pytest.approx(1275 / 10_587_710, abs=1e-6)
    assert {r["area"] for r in national["regions"]} >= {"01", "14", "99", "25"}


def test_roles_and_access_trail(harness: ProjectionHarness) -> None:
    harness.record(_data_set())
    with _client(harness) as client:
        own = bearer(roles=[Role.finance], region="14")
        assert client.get("/indicators/regions/14", params=MARCH, headers=own).status_code == 200
        assert client.get("/indicators/regions/01", params=MARCH, headers=own).status_code == 403
        assert client.get("/indicators/national", params=MARCH, headers=own).status_code == 403
        assert client.get("/indicators/national", params=MARCH,
                          headers=bearer(roles=[Role.auditor])).status_code == 200  # fmt: skip
        other = bearer(roles=[Role.administrator])
        assert client.get("/indicators/regions/14", params=MARCH, headers=other).status_code == 403
        trail = client.get("/access-trail", params={"kind": "finance"},
                           headers=bearer(roles=[Role.auditor])).json()  # fmt: skip
    paths = [e["path"] for e in trail["entries"]] if isinstance(trail, dict) else [
        e["path"] for e in trail]  # fmt: skip
    assert "/indicators/regions/14" in paths
    assert "/indicators/national" in paths


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "0000-01"}, "period"),
        ({"period": "1899-12"}, "period"),
        ({"period": "2026-02-29..2026-03-01"}, "period"),  # 2026 is no leap year
        ({"period": "2026-03-01"}, "period"),  # a day alone: a range of one is 'D..D'
        ({"period": "2026-03-01.."}, "period"),
        ({"period": "0001-01-01..2026-01-01"}, "period"),
        ({}, "period"),
        ({"month": "2026-03"}, "month"),  # the old parameters: unknown now
        ({"period": "2026-03", "from": "2026-03-01"}, "from"),
    ],
)
def test_bad_periods_name_the_parameter(
    harness: ProjectionHarness, params: dict[str, str], field: str
) -> None:
    with _client(harness) as client:
        r = client.get("/indicators/regions/14", params=params, headers=all_roles())
    assert r.status_code == 422, r.text
    assert r.json()["field"] == f"query.{field}"


def test_a_month_is_its_days_and_a_backwards_range_is_empty(harness: ProjectionHarness) -> None:
    """``2026-03`` names the same days as ``2026-03-01..2026-03-31``; the range given
    backwards holds no day: 200, every count 0 (as the audit routes answer an empty interval)."""
    harness.record(_data_set(), page=3)
    with _client(harness) as client:
        days = client.get("/indicators/regions/14", params=MARCH, headers=all_roles()).json()
        month = client.get(
            "/indicators/regions/14", headers=all_roles(), params={**MARCH, "period": "2026-03"}
        ).json()
        back = client.get(
            "/indicators/regions/14",
            headers=all_roles(),
            params={**MARCH, "period": "2026-03-31..2026-03-01"},
        )
    assert month["figures"] == days["figures"]
    assert month["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert back.status_code == 200, back.text
    counts = {f["id"]: f["value"] for f in back.json()["figures"] if f["group"] is None}
    assert counts["out_of_region_digital_contacts"] == 0
    assert counts["out_of_region_digital_cost"] == 0
    assert {f["id"]: f["value"] for f in days["figures"] if f["group"] is None}[
        "out_of_region_digital_contacts"
    ] > 0


def test_a_late_assessment_and_a_replay(harness: ProjectionHarness) -> None:
    """Contact c's missing assessment is recorded late (it occurred before the contact): the
    home region becomes liable, 500 SEK; a replay from the store gives the same read model."""
    harness.record(_data_set(), page=2)
    late = _digital(KRY, KRY_UNIT, "doctor", assessed=False)
    harness.record(late)
    episode = late[0]["episode_id"]
    cost = "SELECT liability, cost FROM indicator_contacts WHERE episode_id = :episode"
    assert harness.query(cost, {"episode": episode}) == [("home_region_not_obliged", 0)]
    harness.record([s.need_and_suitability_assessed(episode, occurred_at=T + timedelta(minutes=5),
                                                    **SORMLAND_CRITERIA)])  # fmt: skip
    assert harness.query(cost, {"episode": episode}) == [("home_region_liable", 500)]
    scratch = open_scratch(harness.settings.model_copy(
        update={"replay_sqlite_path": harness.settings.projections_sqlite_path.parent / "r.db",
                "replay_schema": f"r_{uuid4().hex[:10]}"}))  # fmt: skip
    try:
        replay(harness.service, scratch, [build(harness.settings)])
        same = compare(harness.db, scratch, build(harness.settings))
        assert same.equal, same.differences[:3]
        assert same.rows["indicator_contacts"][0] == 11
        with harness.db.transaction() as cur:
            cur.execute("UPDATE indicator_contacts SET cost = cost + 1 WHERE cost > 0")
        assert not compare(harness.db, scratch, build(harness.settings)).equal
    finally:
        scratch.close()


def test_routing_verify_covers_the_read_model(harness: ProjectionHarness, tmp_path: Path) -> None:
    """``routing verify indicators``, as a process: equal after the runner's pages, and the
    tampered row named after someone edits the live read model."""
    harness.record(_data_set(), page=4)
    settings = harness.settings.model_copy(
        update={"replay_sqlite_path": tmp_path / "replay.db",
                "replay_schema": f"r_{uuid4().hex[:10]}"}
    )  # fmt: skip

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "routing.cli", "verify", "indicators"],
            env=ks.routing_env(settings), capture_output=True, text=True, timeout=300,
            check=False, cwd=tmp_path,
        )  # fmt: skip

    done = verify()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "equal" in done.stdout
    with harness.db.transaction() as cur:
        cur.execute("UPDATE indicator_contacts SET entry_path = 'unknown' WHERE cost = 275")
    done = verify()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "indicators.indicator_contacts only in live" in done.stdout.replace("\n", "")
