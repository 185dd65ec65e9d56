# Over 300 lines because each refused request is checked three ways on every store.
"""The events API end to end, on every store (memory, a SQLite file, a real PostgreSQL).

Every refused request is checked three ways: the status, the code/field/message of the error
body, and that the store did not change (``event_count`` is the last notification id).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from routing.config import Settings
from routing.episodes.events import EVENT_TYPES, parse_event
from routing.episodes.schemas import event_schemas
from routing.episodes.service import CareEpisodes
from tests import support as f
from tests.support import DROP, T0, Body

JSON = {"content-type": "application/json"}


@dataclass
class Api:
    client: TestClient
    episodes: CareEpisodes
    settings: Settings

    def post(self, body: Body) -> httpx.Response:
        return self.client.post("/events", json=body)

    def batch(self, bodies: list[Body]) -> httpx.Response:
        return self.client.post("/events/batch", json={"events": bodies})

    def count(self) -> int:
        return self.episodes.event_count()

    def episode(self, ep: str) -> dict[str, Any]:
        r = self.client.get(f"/episodes/{ep}")
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def absent(self, *episode_ids: str) -> None:
        for ep in episode_ids:
            r = self.client.get(f"/episodes/{ep}")
            assert r.status_code == 404, f"episode {ep} should not exist: {r.text}"


@pytest.fixture
def api(client: TestClient, episodes: CareEpisodes, any_settings: Settings) -> Api:
    return Api(client, episodes, any_settings)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ids(bodies: Iterable[Body]) -> list[str]:
    return [b["episode_id"] for b in bodies]


# --- recording and reading --------------------------------------------------------------


def test_post_event_records_it(api: Api) -> None:
    body, before = f.contact_requested(), api.count()
    r = api.post(body)
    out = ok(r)
    assert "idempotent-replayed" not in r.headers
    assert [out["event_id"], out["episode_id"], out["episode_version"]] == [
        body["event_id"], body["episode_id"], 1,
    ]  # fmt: skip
    recorded_at = ts(out["recorded_at"])
    assert abs(datetime.now(UTC) - recorded_at) < timedelta(minutes=1)
    assert api.count() > before
    assert api.episode(body["episode_id"])["version"] == 1


def test_journey_state_is_served(api: Api) -> None:
    journey = f.typical_journey()
    assert [ok(api.post(b))["episode_version"] for b in journey] == list(range(1, 12))
    out = api.episode(journey[0]["episode_id"])
    assert (out["episode_id"], out["version"]) == (journey[0]["episode_id"], 11)
    state = out["state"]
    assert (state["patient"], state["home_region"]) == (f.PATIENT, f.HOME)
    c1 = state["contacts"]["c1"]
    assert (c1["status"], c1["mode"], c1["profession"]) == ("completed", "video", "doctor")
    assert [o["accepted_mode"] for o in c1["offers"]] == ["chat"]
    assert ts(c1["started_at"]) == ts(at(5))
    assert state["referrals"]["r1"]["status"] == "accepted"
    assert list(state["treatments"]) == ["t1"]
    assert (state["triages"], state["assessments"]) == (1, 1)


def test_history_has_both_times_and_flags_late_documentation(api: Api) -> None:
    ep = str(uuid4())
    bodies = [
        f.contact_requested(ep, occurred_at=at(10)),
        f.contact_started(ep, occurred_at=at(20)),
        f.contact_completed(ep, occurred_at=at(30)),
        f.need_and_suitability_assessed(ep, occurred_at=at(5)),  # documented afterwards
        f.referral_issued(ep, occurred_at=at(31)),
    ]
    receipts = [ok(api.post(b)) for b in bodies]
    r = api.client.get(f"/episodes/{ep}/history")
    assert r.status_code == 200
    assert r.json()["episode_id"] == ep
    entries = r.json()["events"]
    assert [e["type"] for e in entries] == [b["type"] for b in bodies]
    assert [e["version"] for e in entries] == [1, 2, 3, 4, 5]
    assert [e["late"] for e in entries] == [False, False, False, True, False]
    for entry, body, receipt in zip(entries, bodies, receipts, strict=True):
        assert (entry["event_id"], entry["source"]) == (body["event_id"], body["source"])
        assert ts(entry["occurred_at"]) == ts(body["occurred_at"])
        assert ts(entry["recorded_at"]) == ts(receipt["recorded_at"])
        assert entry["data"] == parse_event(body).data()
    recorded = [ts(e["recorded_at"]) for e in entries]
    assert recorded == sorted(recorded)


# --- idempotency ------------------------------------------------------------------------


def test_retry_is_idempotent(api: Api) -> None:
    journey = f.typical_journey()[:3]
    ok(api.post(journey[0]))
    original = ok(api.post(journey[1]))
    ok(api.post(journey[2]))
    before = api.count()
    for _ in range(2):
        r = api.post(journey[1])
        replayed = ok(r)
        # the original receipt; its position is the store's newest (at or after the original)
        assert replayed["position"] >= original["position"]
        assert {**replayed, "position": 0} == {**original, "position": 0}
        assert r.headers["idempotent-replayed"] == "true"
    assert api.count() == before
    assert api.episode(journey[0]["episode_id"])["version"] == 3


def test_same_event_id_with_another_body_is_409(api: Api) -> None:
    body = f.contact_requested()
    ok(api.post(body))
    before, state = api.count(), api.episode(body["episode_id"])
    err = refused(api.post({**body, "requested_mode": "video"}), 409, "event_id_reused")
    assert err["field"] == "event_id"
    assert body["event_id"] in err["message"]
    assert api.count() == before
    assert api.episode(body["episode_id"]) == state


@pytest.mark.parametrize("other_exists", [False, True], ids=["new-episode", "existing-episode"])
def test_same_event_id_on_another_episode_is_409(api: Api, other_exists: bool) -> None:
    used, other = f.contact_requested(), str(uuid4())
    ok(api.post(used))
    if other_exists:
        ok(api.post(f.contact_requested(other)))
    before = api.count()
    reuse = f.contact_requested(other, "c2" if other_exists else "c1", event_id=used["event_id"])
    err = refused(api.post(reuse), 409, "event_id_reused")
    assert err["field"] == "event_id"
    assert used["event_id"] in err["message"]
    assert api.count() == before
    if other_exists:
        assert api.episode(other)["version"] == 1
    else:
        api.absent(other)


# --- batches ----------------------------------------------------------------------------


def test_batch_stores_every_event(api: Api) -> None:
    a, b = f.typical_journey(), f.typical_journey()
    bodies, before = [x for pair in zip(a, b, strict=True) for x in pair], api.count()
    out = ok(api.batch(bodies))["results"]
    assert [r["event_id"] for r in out] == [x["event_id"] for x in bodies]
    assert [r["episode_version"] for r in out] == [v for v in range(1, 12) for _ in (a, b)]
    assert not any(r["replayed"] for r in out)
    assert api.count() >= before + 2 * len(bodies)  # each fact and its event-id receipt
    assert [api.episode(ep)["version"] for ep in (a[0]["episode_id"], b[0]["episode_id"])] == [
        11,
        11,
    ]


def test_batch_with_one_invalid_item_stores_nothing(api: Api) -> None:
    bodies = [f.contact_requested() for _ in range(3)]
    bodies[2]["occurred_at"] = "2025-10-06T09:00:00"  # naive
    before = api.count()
    bodies.append(f.contact_started(bodies[0]["episode_id"]))
    err = refused(api.batch(bodies), 422, "validation_error")
    assert err["field"] == "events[2].occurred_at"
    assert err["message"].startswith("events[2].occurred_at: ")
    assert "timezone" in err["message"]
    assert api.count() == before
    api.absent(*ids(bodies))


def test_batch_with_one_rule_breaking_item_stores_nothing(api: Api) -> None:
    bodies = [f.contact_requested() for _ in range(2)]
    bodies.append(f.contact_completed(bodies[0]["episode_id"]))  # never started
    bodies.append(f.contact_requested())
    before = api.count()
    err = refused(api.batch(bodies), 409, "contact_not_started")
    assert err["message"].startswith("events[2]: ")
    assert err["index"] == 2
    assert api.count() == before
    api.absent(*ids(bodies))


def test_refused_batch_leaves_existing_episode_untouched(api: Api) -> None:
    ep, other = str(uuid4()), str(uuid4())
    ok(api.post(f.contact_requested(ep)))
    state, before = api.episode(ep), api.count()
    bodies = [f.contact_started(ep), f.contact_requested(other), f.contact_started(ep)]
    err = refused(api.batch(bodies), 409, "contact_already_started")
    assert err["message"].startswith("events[2]: ")
    assert api.count() == before
    assert api.episode(ep) == state
    api.absent(other)
    assert ok(api.post(bodies[0]))["episode_version"] == 2  # no half-applied cached state


def test_batch_retry_is_idempotent(api: Api) -> None:
    bodies = f.typical_journey()[:4]
    first = ok(api.batch(bodies))["results"]
    before = api.count()
    again = ok(api.batch(bodies))["results"]
    assert [r["replayed"] for r in again] == [True] * 4
    assert [{**r, "replayed": False} for r in again] == first
    assert api.count() == before
    extended = ok(api.batch([*bodies, f.offer_accepted(bodies[0]["episode_id"])]))["results"]
    assert [r["replayed"] for r in extended] == [True] * 4 + [False]
    assert extended[4]["episode_version"] == 5


def test_full_batch_under_the_body_limit_is_accepted(api: Api) -> None:
    bodies = [f.contact_requested() for _ in range(1000)]
    assert len(json.dumps({"events": bodies})) < api.settings.max_body_bytes
    assert len(ok(api.batch(bodies))["results"]) == 1000
    assert api.count() >= 2000


# --- bad input --------------------------------------------------------------------------

BAD_BODIES: dict[str, tuple[dict[str, Any], str, str]] = {
    # name: (overrides of contact_requested, field, fragment of the message)
    "naive_timestamp": ({"occurred_at": "2025-10-06T09:00:00"}, "occurred_at", "timezone"),
    "unknown_field": ({"priority": "high"}, "priority", "Extra inputs"),
    "recorded_at_sent": ({"recorded_at": at(0)}, "recorded_at", "Extra inputs"),
    "wrong_region_code": ({"care_region": "02"}, "care_region", "not the län code"),
    "municipality_elsewhere": (
        {"home_region": {"county": "14", "municipality": "0180"}},
        "home_region",
        "does not lie in county 14",
    ),
    "missing_field": ({"patient": DROP}, "patient", "Field required"),
    "personnummer_bad_check_digit": ({"patient": "19121212-1213"}, "patient", "check digit"),
    "personnummer_bad_date": ({"patient": "19121312-1211"}, "patient", "date of birth"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_body_is_422_naming_the_field(api: Api, case: str) -> None:
    overrides, field, fragment = BAD_BODIES[case]
    body, before = f.contact_requested(**overrides), api.count()
    err = refused(api.post(body), 422, "validation_error")
    assert err["field"] == field
    assert err["message"].startswith(f"{field}: ")
    assert fragment in err["message"]
    assert api.count() == before
    api.absent(body["episode_id"])


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_batch_item_is_422_naming_its_index(api: Api, case: str) -> None:
    overrides, field, fragment = BAD_BODIES[case]
    bodies, before = [f.contact_requested(), f.contact_requested(**overrides)], api.count()
    err = refused(api.batch(bodies), 422, "validation_error")
    assert err["field"] == f"events[1].{field}"
    assert fragment in err["message"]
    assert api.count() == before
    api.absent(*ids(bodies))


def test_malformed_json_is_422(api: Api) -> None:
    text = json.dumps(f.contact_requested())[:-30] + ', "care_level": prim}'
    before = api.count()
    err = refused(api.client.post("/events", content=text, headers=JSON), 422, "validation_error")
    assert err["errors"][0]["type"] == "json_invalid"
    assert "JSON" in err["message"]
    assert err["field"] == "body"  # a character offset like "[435]" is not a field
    assert api.count() == before


@pytest.mark.parametrize("endpoint", ["/events", "/events/batch"])
def test_occurred_in_future_is_422(api: Api, endpoint: str) -> None:
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    bodies = [f.contact_requested(), f.contact_requested(occurred_at=future)]
    before, single = api.count(), endpoint == "/events"
    r = api.post(bodies[1]) if single else api.batch(bodies)
    err = refused(r, 422, "occurred_in_future")
    assert err["field"] == ("occurred_at" if single else "events[1].occurred_at")
    assert "lies in the future" in err["message"]
    assert api.count() == before
    api.absent(*ids(bodies))
    soon = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()  # clock skew is tolerated
    assert ok(api.post(f.contact_requested(occurred_at=soon)))


def _oversized(settings: Settings) -> tuple[bytes, list[Body]]:
    bodies: list[Body] = []
    while len(json.dumps({"events": bodies})) <= settings.max_body_bytes + 4096:
        bodies.extend(f.contact_requested() for _ in range(500))
    return json.dumps({"events": bodies}).encode(), bodies


def test_oversized_batch_is_413(api: Api) -> None:
    content, bodies = _oversized(api.settings)
    before = api.count()
    err = refused(
        api.client.post("/events/batch", content=content, headers=JSON), 413, "body_too_large"
    )
    assert str(api.settings.max_body_bytes) in err["message"]
    assert api.count() == before
    api.absent(bodies[0]["episode_id"], bodies[-1]["episode_id"])


def test_oversized_chunked_upload_is_413(api: Api) -> None:
    """No Content-Length to refuse up front: the limit must still answer 413, not 400."""
    content, bodies = _oversized(api.settings)
    chunks = (content[i : i + 65536] for i in range(0, len(content), 65536))
    before = api.count()
    r = api.client.post("/events/batch", content=chunks, headers=JSON)
    assert r.request.headers.get("transfer-encoding") == "chunked"
    refused(r, 413, "body_too_large")
    assert api.count() == before
    api.absent(bodies[0]["episode_id"])


@pytest.mark.parametrize("suffix", ["", "/history"])
def test_unknown_episode_is_404(api: Api, suffix: str) -> None:
    ok(api.post(f.contact_requested()))
    unknown = str(uuid4())
    err = refused(api.client.get(f"/episodes/{unknown}{suffix}"), 404, "episode_not_found")
    assert unknown in err["message"]
    assert api.client.get(f"/episodes/not-a-uuid{suffix}").status_code == 422


# --- meta -------------------------------------------------------------------------------


def test_health(api: Api) -> None:
    r = api.client.get("/health")
    assert (r.status_code, r.json()) == (200, {"status": "ok", "store": api.settings.store.value})


def test_openapi_lists_routes_with_examples(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert {
        "/events", "/events/batch", "/episodes/{episode_id}", "/episodes/{episode_id}/history",
        "/health", "/schemas/events", "/schemas/events/{event_type}",
    } <= set(spec["paths"])  # fmt: skip
    post_events = spec["paths"]["/events"]["post"]
    examples = post_events["requestBody"]["content"]["application/json"]["examples"]
    assert "contact_requested" in examples
    for example in examples.values():
        assert parse_event(example["value"]).type in EVENT_TYPES
    assert {"201", "409", "422"} <= set(post_events["responses"])
    assert {"201", "409", "413", "422"} <= set(spec["paths"]["/events/batch"]["post"]["responses"])


def test_schemas_endpoint_lists_25_types(api: Api) -> None:
    listed = api.client.get("/schemas/events").json()["event_types"]
    assert listed == sorted(EVENT_TYPES)
    assert len(listed) == 25  # 17 + the 8 care-guarantee facts (issue 17)
    r = api.client.get("/schemas/events/contact_requested")
    assert (r.status_code, r.json()) == (200, event_schemas()["contact_requested"])
    assert api.client.get("/schemas/events/contact_teleported").status_code == 404


@pytest.mark.parametrize("kind", ["no_such_fact", None])
def test_an_unknown_or_missing_event_type_names_type(api: Api, kind: str | None) -> None:
    body = {k: v for k, v in f.contact_requested().items() if k != "type"}
    if kind is not None:
        body["type"] = kind
    err = refused(api.post(body), 422, "validation_error")
    assert err["field"] == "type"
    err = refused(api.batch([f.contact_requested(), body]), 422, "validation_error")
    assert err["field"] == "events[1].type"
