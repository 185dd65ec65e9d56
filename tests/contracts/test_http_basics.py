"""HTTP basics (issue 16, item 12): HEAD, gzip, no-store; and unknown query parameters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from routing.config import Settings, StoreKind
from tests.auth_support import TEST_KEYS, all_roles, token


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(store=StoreKind.memory, _env_file=None, **TEST_KEYS)  # type: ignore[call-arg]
    with TestClient(create_app(settings), headers=all_roles()) as c:
        yield c


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    for path in ("/health", "/schemas/events", "/access-trail"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]


def test_large_answers_are_compressed(client: TestClient) -> None:
    r = client.get("/metrics", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    small = client.get("/health", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_finance_and_audit_data_are_not_stored_by_caches(client: TestClient) -> None:
    for path in ("/finance/liability?home_region=14&month=2026-03", "/access-trail"):
        assert client.get(path).headers["cache-control"] == "no-store", path
    assert "cache-control" not in client.get("/schemas/events").headers


def test_unknown_query_parameters_are_refused(client: TestClient) -> None:
    r = client.get("/access-trail?sinse=2026-01-01T00:00:00Z")
    assert r.status_code == 422
    assert r.json()["field"] == "query.sinse"
    assert client.post("/events?x=1", json={}).json()["field"] == "query.x"


def test_the_401_challenge_says_whether_the_token_was_refused(client: TestClient) -> None:
    expired = token(lifetime=-3600)
    for path in ("/access-trail", "/events"):  # FastAPI's path and the fast lane
        none = (
            client.post(path, json={}, headers={"authorization": ""})
            if path == "/events"
            else client.get(path, headers={"authorization": ""})
        )
        assert none.headers["www-authenticate"] == 'Bearer realm="routing"', path
        for bad in ("Bearer nonsense", f"Bearer {expired}"):
            sent = {"authorization": bad}
            r = (
                client.post(path, json={}, headers=sent)
                if path == "/events"
                else client.get(path, headers=sent)
            )
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == (
                'Bearer realm="routing", error="invalid_token"'
            ), (path, bad)
