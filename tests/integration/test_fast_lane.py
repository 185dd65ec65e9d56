"""The fast lane (api/fastlane.py) answers exactly as FastAPI's routes would.

Each request is sent to two apps that differ only in ``fast_lane``; the status, every header
and the whole body must match, but for what differs per request by design: the request id
(``x-request-id``), the server's clock (``recorded_at``, ``date``) and so the length of a
body holding it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from routing.access import Role
from routing.config import Settings, StoreKind
from tests import support as f
from tests.auth_support import TEST_KEYS, all_roles, bearer, token
from tests.identity_support import identity_numbers

LIMIT = 4096


def _app(fast: bool) -> TestClient:
    settings = Settings(  # type: ignore[call-arg]
        store=StoreKind.memory, fast_lane=fast, max_body_bytes=LIMIT, _env_file=None, **TEST_KEYS
    )
    return TestClient(create_app(settings), headers=all_roles())


@pytest.fixture
def lanes() -> Iterator[tuple[TestClient, TestClient]]:
    with _app(True) as fast, _app(False) as slow:
        yield fast, slow


PER_REQUEST = {"x-request-id", "date"}


def _whole(r: httpx.Response) -> tuple[Any, ...]:
    """Status, headers and body, less what differs per request by design."""
    body = r.json()
    headers = {k: v for k, v in r.headers.items() if k not in PER_REQUEST}
    clocked = [body, *body.get("results", ())] if isinstance(body, dict) else []
    if any("recorded_at" in item for item in clocked):
        headers.pop("content-length")  # the clock's digits
        for item in clocked:
            item.pop("recorded_at", None)
    return r.status_code, headers, body


def _comparable(r: httpx.Response) -> tuple[Any, ...]:
    body = r.json()
    if r.status_code < 300:
        return r.status_code, r.headers.get("idempotent-replayed"), _whole(r)[2]
    return r.status_code, body.get("code"), body.get("field")


def _both(
    lanes: tuple[TestClient, TestClient],
    path: str,
    content: bytes,
    headers: dict[str, str] | None = None,
) -> tuple[Any, ...]:
    sent = {"content-type": "application/json", **(headers or {})}
    fast, slow = (c.post(path, content=content, headers=sent) for c in lanes)
    assert _whole(fast) == _whole(slow), (fast.headers, fast.text, slow.headers, slow.text)
    return _comparable(fast)


def _json(body: Any) -> bytes:
    return orjson.dumps(body)


def test_events_answer_alike(lanes: tuple[TestClient, TestClient]) -> None:
    ep = uuid4()
    opened = f.contact_requested(ep)
    assert _both(lanes, "/events", _json(opened))[0] == 201
    assert _both(lanes, "/events", _json(opened))[:2] == (201, "true")
    assert _both(lanes, "/events", _json({**opened, "requested_mode": "video"}))[:2] == (
        409,
        "event_id_reused",
    )
    assert _both(lanes, "/events", _json(f.offer_accepted(ep)))[0] == 409
    assert _both(lanes, "/events", _json({**f.contact_started(ep), "surprise": 1}))[2] == (
        "surprise"
    )
    naive = {**f.contact_started(ep), "occurred_at": "2025-11-03T10:00:00"}
    assert _both(lanes, "/events", _json(naive))[2] == "occurred_at"
    assert _both(lanes, "/events", _json({**f.contact_started(ep), "type": "teleported"}))[0] == 422


@pytest.mark.parametrize("content", [b'{"type":', b"", b"[]", b"null", b'"x"', b"\xff\xfe"])
def test_malformed_bodies_are_the_same_422_on_both(
    lanes: tuple[TestClient, TestClient], content: bytes
) -> None:
    for path in ("/events", "/events/batch", "/routing/decisions"):
        assert _both(lanes, path, content)[:3] == (422, "validation_error", "body")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_bodies_not_sent_as_json_are_415_on_both(
    lanes: tuple[TestClient, TestClient], content_type: str
) -> None:
    """A JSON body sent as text/plain was stored by the lane and refused by FastAPI."""
    body = _json(f.contact_requested(uuid4()))
    for path in ("/events", "/events/batch", "/routing/decisions"):
        fast, slow = (c.post(path, content=body, headers={"content-type": content_type})
                      for c in lanes)  # fmt: skip
        assert _whole(fast) == _whole(slow), (fast.text, slow.text)
        assert fast.status_code == 415
        assert fast.json()["code"] == "unsupported_media_type"


def test_json_with_a_structured_suffix_is_json(lanes: tuple[TestClient, TestClient]) -> None:
    ep = uuid4()
    sent = {"content-type": "application/cloudevents+json; charset=utf-8"}
    assert _both(lanes, "/events", _json(f.contact_requested(ep)), sent)[0] == 201


def test_oversized_bodies_are_413_declared_or_chunked(
    lanes: tuple[TestClient, TestClient],
) -> None:
    big = _json({**f.contact_requested(uuid4()), "pad": "x" * LIMIT})
    assert _both(lanes, "/events", big) == (413, "body_too_large", None)

    def chunks() -> Iterator[bytes]:
        yield b'{"pad": "'
        for _ in range(8):
            yield b"x" * 1024
        yield b'"}'

    for c in lanes:
        r = c.post("/routing/decisions", content=chunks())
        assert r.status_code == 413, r.text


def test_decisions_answer_alike(lanes: tuple[TestClient, TestClient]) -> None:
    q = {
        "request_id": str(uuid4()),
        "planned_start": "2025-11-03T10:00:00+01:00",
        "home_region": {"county": "14", "municipality": "1480"},
        "care_region": "04",
        "requested_mode": "chat",
    }
    first = _both(lanes, "/routing/decisions", _json(q))
    assert first[0] == 200
    again = _both(lanes, "/routing/decisions", _json(q))
    assert again == (200, "true", first[2])
    other = _json({**q, "requested_mode": "video"})
    assert _both(lanes, "/routing/decisions", other) == (409, "request_id_reused", "request_id")
    bad = _json({**q, "request_id": str(uuid4()), "care_region": "02"})
    assert _both(lanes, "/routing/decisions", bad)[:2] == (422, "validation_error")


@pytest.mark.parametrize("path", ["/events", "/events/batch", "/routing/decisions"])
def test_tokens_and_roles_are_checked_alike(
    lanes: tuple[TestClient, TestClient], path: str
) -> None:
    body = _json({"events": [f.contact_requested(uuid4())]} if path.endswith("batch") else {})
    assert _both(lanes, path, body, {"authorization": ""})[:2] == (401, "unauthorized")
    assert _both(lanes, path, body, {"authorization": "Basic abc"})[:2] == (401, "unauthorized")
    assert _both(lanes, path, body, {"authorization": "Bearer nonsense"})[:2] == (
        401,
        "unauthorized",
    )
    auditor = bearer([Role.auditor])
    assert _both(lanes, path, body, auditor)[:2] == (403, "forbidden")
    expired = {"authorization": f"Bearer {token(lifetime=-3600)}"}
    assert _both(lanes, path, body, expired)[:2] == (401, "unauthorized")


def test_front_end_bindings_and_pseudonyms_alike(lanes: tuple[TestClient, TestClient]) -> None:
    opened = f.contact_requested(uuid4())
    elsewhere = bearer([Role.front_end], provider_id=opened["provider_id"], care_region="01")
    assert _both(lanes, "/events", _json(opened), elsewhere)[0] == 403
    number = identity_numbers(1)[0]
    ep = uuid4()
    with_number = {**f.contact_requested(ep), "patient": number.twelve}
    assert _both(lanes, "/events", _json(with_number))[0] == 201
    fast, slow = (c.get(f"/episodes/{ep}").json()["state"]["patient"] for c in lanes)
    assert fast == slow  # the same keyed pseudonym
    assert fast.startswith("psn_")
    assert number.ten not in fast


def test_batches_answer_alike(lanes: tuple[TestClient, TestClient]) -> None:
    ep = uuid4()
    journey = f.typical_journey(ep)
    assert _both(lanes, "/events/batch", _json({"events": []}))[:2] == (422, "validation_error")
    broken = [journey[0], f.offer_accepted(ep), *journey[1:]]
    assert _both(lanes, "/events/batch", _json({"events": broken}))[:2] == (409, "no_open_offer")
    bad = [journey[0], {**journey[1], "surprise": 1}]
    assert _both(lanes, "/events/batch", _json({"events": bad}))[2] == "events[1].surprise"
    ok = _both(lanes, "/events/batch", _json({"events": journey}))
    assert ok[0] == 201
    assert len(ok[2]["results"]) == len(journey)
    again = _both(lanes, "/events/batch", _json({"events": journey}))
    assert all(r["replayed"] for r in again[2]["results"])
    too_many = {"events": [f.contact_requested(uuid4()) for _ in range(3)]}
    assert _both(lanes, "/events/batch", _json(too_many))[0] in (201, 413)


def test_other_routes_still_go_through_fastapi(lanes: tuple[TestClient, TestClient]) -> None:
    fast, _ = lanes
    assert fast.get("/health").status_code == 200
    assert fast.get("/events").status_code == 405  # same path, other method: FastAPI's answer
    assert fast.post("/events/batch", json={"events": []}).status_code == 422


def test_requests_are_correlated_and_timed_alike(lanes: tuple[TestClient, TestClient]) -> None:
    for client in lanes:
        r = client.post(
            "/events", json=f.contact_requested(uuid4()), headers={"x-request-id": "req-fast-0001"}
        )
        assert r.status_code == 201
        assert r.headers["x-request-id"] == "req-fast-0001"
        bad = client.post("/events", content=b"{", headers={"content-type": "application/json"})
        assert bad.headers["x-request-id"]  # errors too
    metrics = lanes[0].get("/metrics").text
    timed = [line for line in metrics.splitlines() if 'route="/events"' in line]
    assert any('status="201"' in line for line in timed), timed
    assert any('status="422"' in line for line in timed), timed


@pytest.mark.parametrize(("content_type", "content"), [("text/plain", b"{}"),
                                                       ("application/json", b"{")])  # fmt: skip
def test_the_token_is_checked_before_the_body_on_both(
    lanes: tuple[TestClient, TestClient], content_type: str, content: bytes
) -> None:
    """FastAPI parsed the body first: a bad body without a token was a 422 there, a 401 here."""
    for path in ("/events", "/events/batch", "/routing/decisions"):
        sent = {"content-type": content_type, "authorization": ""}
        assert _both(lanes, path, content, sent)[:2] == (401, "unauthorized")
        auditor = {"content-type": content_type, **bearer([Role.auditor])}
        assert _both(lanes, path, content, auditor)[:2] == (403, "forbidden")
