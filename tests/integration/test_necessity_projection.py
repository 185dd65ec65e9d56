"""The necessity read model on a real store and read-model database (SQLite and PostgreSQL):
one current class per physical visit, recomputed on late facts; counts, shares and breaches
per care region, unit and month; the /necessity API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from projections.base import REBUILD_SUFFIX
from projections.necessity import Necessity
from projections.runner import ProjectionWorker
from routing.config import Settings
from tests import support as s
from tests.auth_support import all_roles
from tests.necessity_support import NecessityHarness, assessed, visit
from tests.projection_harness import Record

AT = datetime(2026, 3, 10, 10, 0, tzinfo=s.STOCKHOLM)
MONTH = "2026-03"
OTHER_UNIT = "SE2321000131-E000000000777"
ALL_MODES = {"modes": ["chat", "video", "phone"]}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NecessityHarness]:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    h = NecessityHarness(settings, tmp_path)
    yield h
    h.close_all()


def _visits(h: NecessityHarness) -> list[tuple[Any, ...]]:
    return h.query(
        "SELECT episode_id, classification, breach, care_unit_id, month FROM necessity_visits "
        "ORDER BY visit_at, episode_id"
    )


def test_declined_offer_is_preference_and_suitable_without_offer_is_a_breach(
    harness: NecessityHarness,
) -> None:
    declined = visit(AT, assessment={}, offer=ALL_MODES, decline="preference")
    no_offer = visit(AT + timedelta(hours=1), assessment={})
    old_rules = visit(datetime(2025, 9, 15, 10, 0, tzinfo=s.STOCKHOLM), assessment={})
    harness.record(declined + no_offer + old_rules)
    assert [r[1:3] for r in _visits(harness)] == [
        ("avoidable", 0),  # riksavtal: the offer duty is not yet law
        ("patient_preference", 0),
        ("avoidable", 1),
    ]
    (breach,) = harness.query("SELECT episode_id FROM necessity_visits WHERE breach = 1")
    assert breach[0] == no_offer[0]["episode_id"]


def test_a_late_recorded_assessment_reclassifies_the_visit(harness: NecessityHarness) -> None:
    bodies = visit(AT)
    harness.record(bodies)
    assert [r[1] for r in _visits(harness)] == ["unassessed"]
    eid = bodies[0]["episode_id"]
    harness.projection.discard_cache()  # as after a restart: the episode is refolded from SQL
    harness.record([assessed(eid, AT - timedelta(hours=2), failed=["follow_up_not_possible"])])
    (row,) = _visits(harness)  # still exactly one row for the visit
    assert row[1:3] == ("necessary", 0)
    harness.record([assessed(eid, AT - timedelta(minutes=20))])  # a later judgement: suitable
    assert _visits(harness)[0][1:3] == ("avoidable", 1)


def test_a_rebuild_from_offset_zero_gives_the_same_classes(harness: NecessityHarness) -> None:
    first = visit(AT)
    harness.record(first + visit(AT, assessment={}, offer=ALL_MODES, decline="preference"))
    harness.record([assessed(first[0]["episode_id"], AT - timedelta(hours=2))])  # late
    fresh = ProjectionWorker(
        harness.db, Necessity(harness.settings.rulebook_policy()), "t", suffix=REBUILD_SUFFIX
    )
    harness.relay.progress = replace(harness.relay.progress, position=0)
    page = harness.relay._read_page()
    records = [Record(i, m.value) for i, m in enumerate(page)]
    fresh.apply(0, records)  # type: ignore[arg-type]
    fresh.apply(0, records)  # type: ignore[arg-type]  # redelivered: skipped by offset
    columns = "episode_id, contact_id, classification, breach, detail"
    rebuilt = harness.query(f"SELECT {columns} FROM necessity_visits{REBUILD_SUFFIX} ORDER BY 1")
    assert rebuilt == harness.query(f"SELECT {columns} FROM necessity_visits ORDER BY 1")
    assert sorted(r[2] for r in rebuilt) == ["avoidable", "patient_preference"]


def _visit_mix() -> list[list[dict[str, Any]]]:
    """In March, unit CLINIC: necessary, preference, avoidable (a breach); OTHER_UNIT:
    unassessed. In April: one more breach."""
    return [
        visit(AT, assessment={"failed": ["physical_meeting_required"]}),
        visit(AT, assessment={}, offer=ALL_MODES, decline="preference"),
        visit(AT, assessment={}),
        visit(AT, unit=OTHER_UNIT),
        visit(datetime(2026, 4, 2, 9, 0, tzinfo=s.STOCKHOLM), assessment={}),
    ]


def test_summary_counts_and_shares_add_up_per_unit_and_month(harness: NecessityHarness) -> None:
    harness.record([b for v in _visit_mix() for b in v])
    with TestClient(harness.app(), headers=all_roles()) as client:
        got = client.get("/necessity/summary", params={"care_region": "04", "month": MONTH})
        assert got.status_code == 200
        body = got.json()
        assert (body["visits"], body["offer_duty_breaches"]) == (4, 1)
        assert body["counts"] == {"necessary": 1, "patient_preference": 1, "unassessed": 1,
                                  "avoidable": 1}  # fmt: skip
        units = {u["care_unit_id"]: u for u in body["by_care_unit"]}
        assert units[s.CLINIC]["counts"]["unassessed"] == 0
        assert units[s.CLINIC]["shares"]["avoidable"] == 0.3333
        assert units[OTHER_UNIT]["shares"] == {"necessary": 0.0, "patient_preference": 0.0,
                                               "unassessed": 1.0, "avoidable": 0.0}  # fmt: skip
        for part in [body, *units.values()]:
            assert sum(Decimal(str(v)) for v in part["shares"].values()) == 1
            assert sum(part["counts"].values()) == part["visits"]

        one = client.get(
            "/necessity/summary",
            params={"care_region": "04", "month": MONTH, "care_unit": OTHER_UNIT},
        ).json()
        assert (one["visits"], [u["care_unit_id"] for u in one["by_care_unit"]]) == (
            1,
            [OTHER_UNIT],
        )
        april = client.get("/necessity/summary", params={"care_region": "04", "month": "2026-04"})
        assert april.json()["offer_duty_breaches"] == 1
        empty = client.get("/necessity/summary", params={"care_region": "14", "month": MONTH})
        assert (empty.json()["visits"], empty.json()["by_care_unit"]) == (0, [])


def test_breaches_and_one_visit_explained(harness: NecessityHarness) -> None:
    mix = _visit_mix()
    harness.record([b for v in mix for b in v])
    breaching = mix[2][0]["episode_id"]  # suitable, no offer
    with TestClient(harness.app(), headers=all_roles()) as client:
        listed = client.get("/necessity/breaches", params={"care_region": "04", "month": MONTH})
        assert listed.status_code == 200
        body = listed.json()
        assert body["breaches"] == 1
        assert [(v["episode_id"], v["contact_id"]) for v in body["visits"]] == [(breaching, "c1")]
        assert body["visits"][0]["reason_codes"] == ["no_distance_offer"]

        one = client.get(f"/necessity/visits/{breaching}/c1")
        assert one.status_code == 200
        detail = one.json()
        assert (detail["classification"], detail["rulebook"]) == ("avoidable", "ds-2023-27")
        assert detail["trace"]
        assert detail["judgement"]["outcome"] == "distance_suitable"

        necessary = client.get(f"/necessity/visits/{mix[0][0]['episode_id']}/c1").json()
        assert necessary["reason_codes"] == ["physical_meeting_required"]

        assert client.get(f"/necessity/visits/{uuid4()}/c1").status_code == 404
        bad_id = client.get("/necessity/visits/not-a-uuid/c1")
        assert (bad_id.status_code, bad_id.json()["field"]) == (422, "path.episode_id")
        bad_month = client.get(
            "/necessity/summary", params={"care_region": "04", "month": "2026-13"}
        )
        assert (bad_month.status_code, bad_month.json()["field"]) == (422, "query.month")
        missing = client.get("/necessity/breaches", params={"month": MONTH})
        assert (missing.status_code, missing.json()["field"]) == (422, "query.care_region")
        bad_unit = client.get(
            "/necessity/summary", params={"care_region": "04", "month": MONTH, "care_unit": "x"}
        )
        assert (bad_unit.status_code, bad_unit.json()["field"]) == (422, "query.care_unit")
