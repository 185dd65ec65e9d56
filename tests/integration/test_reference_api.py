"""Issue 21 item 10: the reference data the rules read is discoverable by the clients that
need it, dated and versioned. Expected values are read off the sources the files cite (seed
004: Sörmland's digital doctor fee 100 SEK; SKR 2019: 500/425/275 SEK digital levels)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from routing.access import Role
from routing.config import Settings
from tests.auth_support import bearer


@pytest.fixture
def client(memory_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(memory_settings)) as c:
        yield c


def _get(client: TestClient, path: str, role: Role = Role.front_end, **params: Any) -> Any:
    r = client.get(path, params=params, headers=bearer([role], provider_id="*", care_region="*",
                                                       region="*"))  # fmt: skip
    assert r.status_code == 200, r.text
    return r


def test_criteria_sets_a_care_region_uses_on_a_day(client: TestClient) -> None:
    version = _get(client, "/admin/reference-data", Role.administrator).json()["version"]
    before = _get(client, "/reference/criteria-sets", region="04", on="2025-06-01")
    assert before.headers["etag"] == f'"{version}"'
    assert before.json()["version"] == version
    assert [(e["id"], e["version"]) for e in before.json()["entries"]] == [
        ("sormland-digital", "2021.1")
    ]
    after = _get(client, "/reference/criteria-sets", Role.routing_client, region="04",
                 on="2026-01-15").json()  # fmt: skip
    (national,) = after["entries"]
    assert (national["id"], national["version"], national["owning_region"]) == (
        "national-digital", "2025.1", None
    )  # fmt: skip
    assert "04" in national["adopted_by"]
    assert national["required_criteria"] == ["p1", "p2", "p3", "p4", "n1", "n2", "n3"]
    assert "doctor" in national["allowed_professions"]
    assert national["valid_from"] == "2025-10-01"
    assert national["status"] == "illustrative"


def test_fee_schedules_and_price_lists(client: TestClient) -> None:
    fees = _get(client, "/reference/fee-schedules", Role.finance, region="04", on="2026-01-15")
    doctor = [e for e in fees.json()["entries"] if "doctor" in e["price_categories"]
              and e["care_levels"] == ["primary"] and e["mode_class"] == "distance"]  # fmt: skip
    assert [e["amount"] for e in doctor] == [100]
    prices = _get(client, "/reference/price-lists", Role.finance, on="2026-01-15").json()
    digital = {
        (e["price_categories"][0], e["amount"])
        for e in prices["entries"]
        if e["mode_class"] == "distance" and e["care_levels"] == ["primary"]
    }
    assert {("doctor", 500), ("psychologist_group", 425), ("other_staff", 275)} <= digital


def test_regions_referrals_and_entry_points(client: TestClient) -> None:
    regions = _get(client, "/reference/regions").json()
    assert len(regions["regions"]) == 21
    halland = next(r for r in regions["regions"] if r["county"] == "13")
    assert halland["municipalities"]
    assert set(regions["healthcare_regions"]) >= {"stockholm_gotland", "vastra", "sodra"}
    doors = _get(client, "/reference/entry-points", region="14", on="2026-01-15").json()
    assert doors["entries"]
    assert all("14" in e["regions"] for e in doors["entries"])
    referrals = _get(client, "/reference/referral-requirements", Role.routing_client).json()
    assert referrals["entries"]
    assert all(e["valid_from"] for e in referrals["entries"])


def test_reference_data_needs_a_token_and_a_known_region(client: TestClient) -> None:
    assert client.get("/reference/criteria-sets").status_code == 401
    r = client.get("/reference/criteria-sets", params={"region": "42"},
                   headers=bearer([Role.auditor]))  # fmt: skip
    assert r.status_code == 422
    assert r.json()["field"] == "query.region"  # as every read names a bad query parameter
