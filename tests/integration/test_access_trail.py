"""Issue 16 item 5 and issue 21 item 13: the access trail keeps each read's outcome (refused,
invalid, not found, served), refuses an unknown ``kind``, and never keeps an identity number
a user typed into a query."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from routing.access import Role
from routing.config import Settings
from tests.auth_support import bearer
from tests.identity_support import identity_numbers


@pytest.fixture
def anonymous(any_settings: Settings) -> Any:
    with TestClient(create_app(any_settings)) as c:
        yield c


def _trail(client: TestClient, *subjects: str, **params: str) -> list[dict[str, Any]]:
    """The trail's entries of ``subjects`` (test databases may hold other tests' reads)."""
    r = client.get("/access-trail", params=params, headers=bearer([Role.auditor], sub="reader"))
    assert r.status_code == 200, r.text
    return [e for e in r.json() if e["subject"] in subjects]


def _someone(role: str) -> str:
    return f"{role}-{uuid4().hex[:8]}"


def test_each_read_is_recorded_with_its_outcome(anonymous: TestClient) -> None:
    name, auditor_name = _someone("clerk"), _someone("auditor")
    clerk = bearer([Role.finance], region="14", sub=name)
    month = {"home_region": "14", "month": "2025-10"}
    expected = [  # (what the clerk asks, the status the trail must show)
        ("/finance/liability", month, 200),
        ("/finance/liability", {"home_region": "01", "month": "2025-10"}, 403),  # region
        ("/finance/liability", {"home_region": "14", "month": "2025-13"}, 422),  # invalid
        ("/finance/invoices", {"care_region": "04", **month}, 409),  # month not closed
        ("/access-trail", {}, 403),  # a role the clerk lacks
    ]
    for path, params, status in expected:
        r = anonymous.get(path, params=params, headers=clerk)
        assert r.status_code == status, (path, params, r.text)
    auditor = bearer([Role.auditor], sub=auditor_name)
    episode = str(uuid4())
    assert anonymous.get(f"/episodes/{episode}", headers=auditor).status_code == 404
    trail = _trail(anonymous, name, auditor_name)
    got = [(e["subject"], e["path"], e["status"]) for e in reversed(trail)]
    assert got == [
        *((name, path, status) for path, _, status in expected),
        (auditor_name, f"/episodes/{episode}", 404),
    ]
    assert [e["kind"] for e in reversed(trail)] == [*["finance"] * 4, "audit", "audit"]


@pytest.mark.parametrize("kind", ["foo", "FINANCE", "", "audit "])
def test_an_unknown_kind_is_422(anonymous: TestClient, kind: str) -> None:
    r = anonymous.get("/access-trail", params={"kind": kind}, headers=bearer([Role.auditor]))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "query.kind"


def test_kinds_filter(anonymous: TestClient) -> None:
    name = _someone("clerk")
    month = {"home_region": "14", "month": "2025-10"}
    clerk = bearer([Role.finance, Role.auditor], region="14", sub=name)
    anonymous.get("/finance/liability", params=month, headers=clerk)
    anonymous.get(f"/episodes/{uuid4()}", headers=clerk)
    assert [e["kind"] for e in _trail(anonymous, name, kind="finance")] == ["finance"]
    assert [e["kind"] for e in _trail(anonymous, name, kind="audit")] == ["audit"]


def test_an_identity_number_typed_into_a_query_is_kept_nowhere(anonymous: TestClient) -> None:
    """A finance user looks a patient up by personnummer: refused, and not in the trail."""
    name = _someone("clerk")
    clerk = bearer([Role.finance], region="14", sub=name)
    numbers = identity_numbers(3)
    for number, spelled in zip(numbers, ["twelve", "ten", "dash"], strict=True):
        value = {"twelve": number.twelve, "ten": number.ten, "dash": number.spellings()[1]}[spelled]
        params = {"home_region": "14", "month": "2025-10", "status": value}
        r = anonymous.get("/finance/liability/contacts", params=params, headers=clerk)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "query.status"
        r = anonymous.get(f"/finance/contacts/{uuid4()}/{value}", headers=clerk)
        assert r.status_code == 422, r.text
    anonymous.get(
        "/finance/liability", params={"home_region": "14", "month": "2025-10"}, headers=clerk
    )
    stored = str(_trail(anonymous, name))
    assert "/finance/liability" in stored  # the trail is read
    for number in numbers:
        for needle in number.spellings():
            assert needle not in stored
