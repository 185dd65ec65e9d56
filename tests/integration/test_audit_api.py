"""The auditor's API on every store (memory, a SQLite file, PostgreSQL): history as known and
as it was, what was learnt late, the hash chain, and policy simulation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests import support as f


def _post(client: TestClient, bodies: list[dict[str, object]]) -> None:
    r = client.post("/events/batch", json={"events": bodies})
    assert r.status_code == 201, r.text


def _now() -> str:
    time.sleep(0.01)
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    return moment


def test_history_known_occurred_and_learnt(client: TestClient) -> None:
    journey = f.typical_journey()
    episode = journey[0]["episode_id"]
    assessment = journey.pop(2)
    before = _now()
    _post(client, journey)
    t1 = _now()
    _post(client, [assessment])
    t2 = _now()

    then = client.get(f"/audit/episodes/{episode}/known", params={"at": t1})
    assert then.status_code == 200, then.text
    assert len(then.json()["facts"]) == 10
    assert then.json()["state"]["assessments"] == 0
    assert [d["contact_id"] for d in then.json()["decisions"]] == ["c1"]
    now = client.get(f"/audit/episodes/{episode}/known", params={"at": t2}).json()
    assert len(now["facts"]) == 11
    assert now["state"]["assessments"] == 1
    empty = client.get(f"/audit/episodes/{episode}/known", params={"at": before}).json()
    assert empty["facts"] == []
    assert empty["state"] is None

    at = (f.T0 + timedelta(minutes=2, seconds=30)).isoformat()
    real = client.get(f"/audit/episodes/{episode}/occurred", params={"at": at}).json()
    assert [x["type"] for x in real["facts"]] == [
        "contact_requested", "triage_completed", "need_and_suitability_assessed",
    ]  # fmt: skip

    learnt = client.get(
        f"/audit/episodes/{episode}/learnt", params={"since": t1, "until": t2}
    ).json()
    assert [(x["type"], x["late"]) for x in learnt["facts"]] == [
        ("need_and_suitability_assessed", True)
    ]


def test_history_errors_name_the_field(client: TestClient) -> None:
    journey = f.typical_journey()
    _post(client, journey)
    episode = journey[0]["episode_id"]
    naive = client.get(f"/audit/episodes/{episode}/known", params={"at": "2025-10-06T09:00:00"})
    assert naive.status_code == 422
    assert "at" in naive.text
    missing = client.get(f"/audit/episodes/{episode}/known")
    assert missing.status_code == 422
    unknown = client.get(
        "/audit/episodes/00000000-0000-4000-8000-000000000001/known",
        params={"at": datetime.now(UTC).isoformat()},
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "episode_not_found"
    backwards = client.get(
        f"/audit/episodes/{episode}/learnt",
        params={"since": "2100-01-02T00:00:00Z", "until": "1999-01-01T00:00:00Z"},
    )
    assert backwards.status_code == 200, "an empty interval is a question with an empty answer"
    assert backwards.json()["facts"] == []
    for half in ("3", "3:", ":" + "a" * 64, "0:" + "a" * 64, "3:" + "A" * 64):
        refused = client.get("/audit/chain", params={"anchor": half})
        assert refused.status_code == 422, half
        assert refused.json()["field"] == "query.anchor"
    old_shape = client.get("/audit/chain", params={"anchor_position": 3})
    assert old_shape.status_code == 422
    assert old_shape.json()["field"] == "query.anchor_position"


def test_an_anchor_whose_digest_holds_date_shaped_digits_is_a_digest(
    client: TestClient,
) -> None:
    """A SHA-256 digest in hex holds a run of digits shaped like a personnummer (date and
    check digit) about once in 180 heads: the anchor is still a digest, so the chain check
    answers it (this made test_chain_and_simulation fail now and then with a 422)."""
    _post(client, f.typical_journey())
    dated = "ab191212121212cd" + "e" * 48
    r = client.get("/audit/chain", params={"anchor": f"1:{dated}"})
    assert r.status_code == 200, r.text
    assert [x["kind"] for x in r.json()["findings"]] == ["rewritten"]


def test_chain_and_simulation(client: TestClient) -> None:
    for _ in range(3):
        _post(client, f.typical_journey())
    chain = client.get("/audit/chain")
    assert chain.status_code == 200, chain.text
    body = chain.json()
    assert body["intact"] is True
    assert body["rows"] == body["links"] == 66
    assert body["head_position"] == 66
    head = f"{body['head_position']}:{body['head_digest']}"
    anchored_reply = client.get("/audit/chain", params={"anchor": head})
    assert anchored_reply.status_code == 200, anchored_reply.text
    anchored = anchored_reply.json()
    assert anchored["intact"] is True, "the head noted is still there"
    beyond_reply = client.get("/audit/chain", params={"anchor": "67:" + body["head_digest"]})
    assert beyond_reply.status_code == 200, beyond_reply.text
    beyond = beyond_reply.json()
    assert [x["kind"] for x in beyond["findings"]] == ["truncated"]

    sim = client.post(
        "/audit/simulations",
        json={"home_regions": ["14"], "start": "2025-01-01", "end": "2025-12-31",
              "ds_2023_27_enabled": False},
    )  # fmt: skip
    assert sim.status_code == 200, sim.text
    out = sim.json()
    assert out["alternative"] == "riksavtal only"
    assert [r["home_region"] for r in out["regions"]] == ["14"]
    assert out["regions"][0]["contacts"] == 3
    assert out["facts"] == 33
    empty = client.post(
        "/audit/simulations", json={"start": "2025-12-31", "end": "2025-01-01"}
    ).json()
    assert (empty["regions"], empty["changes"], empty["changed_total"]) == ([], [], 0)

    bad = client.post(
        "/audit/simulations", json={"home_regions": ["99"], "start": "2025-01-01",
                                    "end": "2025-12-31"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "unknown home region" in bad.text
    extra = client.post(
        "/audit/simulations", json={"start": "2025-01-01", "end": "2025-12-31", "x": 1}
    )
    assert extra.status_code == 422
    assert "x" in extra.json().get("field", "") or "x" in extra.text
