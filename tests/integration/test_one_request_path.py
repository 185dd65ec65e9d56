"""Both fronts of the write routes (api/core.py through the fast lane, and through FastAPI's
router) answer with the same bytes: status, every header in order, the whole body.

Each request of the matrix goes to two apps that differ only in ``fast_lane``. Per request
by design: the request id and ``date``, and the server clock in ``recorded_at`` (masked here,
with the length of each body still checked against its own ``content-length``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import orjson
import psycopg
import pytest
from fastapi import APIRouter, Body, Depends, FastAPI, Query
from fastapi.testclient import TestClient
from starlette.routing import Match

from api.app import create_app
from api.core import CoreRoute, Reply, serving
from routing.access import Role
from routing.config import Settings, StoreKind
from tests import support as f
from tests.auth_support import TEST_KEYS, all_roles, bearer

LIMIT = 4096
PER_REQUEST = {b"x-request-id", b"date"}
_CLOCK = re.compile(rb'"recorded_at":"[^"]*"')


def _client(fast: bool) -> TestClient:
    settings = Settings(  # type: ignore[call-arg]
        store=StoreKind.memory, fast_lane=fast, max_body_bytes=LIMIT, _env_file=None, **TEST_KEYS
    )
    return TestClient(create_app(settings), headers=all_roles())


@pytest.fixture
def fronts() -> Iterator[tuple[TestClient, TestClient]]:
    with _client(True) as lane, _client(False) as router:
        yield lane, router


def _raw(r: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers in order (less the per-request ones), body bytes (clock masked)."""
    headers = [(k.lower(), v) for k, v in r.headers.raw if k.lower() not in PER_REQUEST]
    body = r.content
    if _CLOCK.search(body):
        assert (b"content-length", str(len(body)).encode()) in headers
        headers = [h for h in headers if h[0] != b"content-length"]
        body = _CLOCK.sub(b'"recorded_at":"?"', body)
    return r.status_code, headers, body


def _same(fronts: tuple[TestClient, TestClient], path: str, content: bytes,
          headers: dict[str, str]) -> tuple[int, dict[bytes, bytes], Any]:  # fmt: skip
    lane, router = (c.post(path, content=content, headers=headers) for c in fronts)
    assert _raw(lane) == _raw(router), (lane.headers, lane.text, router.headers, router.text)
    assert lane.headers["x-request-id"]
    assert router.headers["x-request-id"]
    return lane.status_code, dict(_raw(lane)[1]), lane.json()


JSON = {"content-type": "application/json"}


def _question() -> dict[str, Any]:
    return {
        "request_id": str(uuid4()),
        "planned_start": "2025-11-03T10:00:00+01:00",
        "home_region": {"county": "14", "municipality": "1480"},
        "care_region": "04",
        "requested_mode": "chat",
    }


def _bodies(path: str) -> tuple[bytes, bytes]:
    """A good body for ``path``, and another under the same id (a conflict)."""
    if path == "/routing/decisions":
        q = _question()
        return orjson.dumps(q), orjson.dumps({**q, "requested_mode": "video"})
    event = f.contact_requested(uuid4())
    other = {**event, "requested_mode": "video"}
    if path == "/events/batch":
        return orjson.dumps({"events": [event]}), orjson.dumps({"events": [other]})
    return orjson.dumps(event), orjson.dumps(other)


PATHS = ["/events", "/events/batch", "/routing/decisions"]
REFUSALS = {  # case: (body, headers, status, code)
    "bad JSON": (b'{"type":', JSON, 422, "validation_error"),
    "not an object": (b"[]", JSON, 422, "validation_error"),
    "wrong content-type": (None, {"content-type": "text/plain"}, 415, "unsupported_media_type"),
    "too large": (b'{"pad": "' + b"x" * LIMIT + b'"}', JSON, 413, "body_too_large"),
    "no token": (None, {**JSON, "authorization": ""}, 401, "unauthorized"),
    "not bearer": (None, {**JSON, "authorization": "Basic abc"}, 401, "unauthorized"),
    "bad token": (None, {**JSON, "authorization": "Bearer nonsense"}, 401, "unauthorized"),
    "wrong role": (None, {**JSON, **bearer([Role.auditor])}, 403, "forbidden"),
    "unknown query": (None, JSON, 422, "validation_error"),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_are_byte_identical(
    fronts: tuple[TestClient, TestClient], path: str, case: str
) -> None:
    content, headers, status, code = REFUSALS[case]
    target = f"{path}?x=1" if case == "unknown query" else path
    answer = _same(fronts, target, content or _bodies(path)[0], headers)
    assert answer[0] == status
    assert answer[2]["code"] == code
    if status == 401:
        assert answer[1][b"www-authenticate"].startswith(b'Bearer realm="routing"')


@pytest.mark.parametrize("path", PATHS)
def test_good_conflict_and_retry_are_byte_identical(
    fronts: tuple[TestClient, TestClient], path: str
) -> None:
    good, conflicting = _bodies(path)
    created = 200 if path == "/routing/decisions" else 201
    first = _same(fronts, path, good, JSON)
    assert first[0] == created
    assert b"idempotent-replayed" not in first[1]
    retry = _same(fronts, path, good, JSON)
    assert retry[0] == created
    if path != "/events/batch":  # a batch says it per event
        assert retry[1][b"idempotent-replayed"] == b"true"
    conflict = _same(fronts, path, conflicting, JSON)
    assert conflict[0] == 409
    assert conflict[2]["code"] in ("event_id_reused", "request_id_reused")


class _Unavailable:
    """A writer whose store is restarting (psycopg's error: the 503 case), or broken."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def record(self, *_: Any) -> Any:
        raise self.exc

    async def decide(self, *_: Any) -> Any:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "status"), [(psycopg.OperationalError("server closed"), 503), (RuntimeError(), 500)]
)
def test_store_failures_are_byte_identical(
    fronts: tuple[TestClient, TestClient], exc: Exception, status: int
) -> None:
    states = [c.app.state for c in fronts]  # type: ignore[attr-defined]
    writers = [state.writer for state in states]
    for state in states:
        state.writer = _Unavailable(exc)
    try:
        for path in ("/events", "/routing/decisions"):
            answer = _same(fronts, path, _bodies(path)[0], JSON)
            assert answer[0] == status
            assert (b"retry-after" in answer[1]) == (status == 503)
    finally:
        for state, writer in zip(states, writers, strict=True):
            state.writer = writer


def test_the_lane_answers_without_the_router(
    fronts: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparisons above compare two fronts, not one twice: with the router blind to
    the core's routes, the lane still answers them, and FastAPI's front cannot."""
    monkeypatch.setattr(CoreRoute, "matches", lambda self, scope: (Match.NONE, {}))
    lane, router = (c.post("/events", content=_bodies("/events")[0], headers=JSON) for c in fronts)
    assert lane.status_code == 201
    assert router.status_code in (404, 405)


def test_a_dependency_the_core_would_not_run_is_refused() -> None:
    """A check added as a FastAPI dependency would run on neither front: declaring it fails."""

    async def audit_hook() -> None:
        return None

    async def endpoint(body: dict[str, Any] = Body()) -> Reply:
        return Reply(200, b"{}")

    guarded = APIRouter(route_class=serving(Role.auditor), dependencies=[Depends(audit_hook)])
    with pytest.raises(TypeError, match="audit_hook"):
        guarded.post("/x")(endpoint)

    async def with_query(body: dict[str, Any] = Body(), n: int = Query(1)) -> Reply:
        return Reply(200, b"{}")

    with pytest.raises(TypeError, match=r"\['n'\]"):
        APIRouter(route_class=serving(Role.auditor)).post("/y")(with_query)
    with pytest.raises(TypeError, match="admits some role"):
        FastAPI().router.add_api_route(
            "/z", endpoint, methods=["POST"], route_class_override=CoreRoute
        )
