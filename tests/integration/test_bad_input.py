"""Inputs schemathesis found to cause a 5xx, kept as regressions."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_decision_for_a_date_before_every_fee_schedule_is_answered(
    memory_client: TestClient,
) -> None:
    question = {
        "home_region": {"county": "10", "municipality": "1000"},
        "planned_start": "2000-01-01T00:00:00Z",
        "request_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd",
        "requested_mode": "chat",
    }
    r = memory_client.post("/routing/decisions", json=question)
    assert r.status_code == 200, r.text
    assert r.json()["expected_patient_fee"] is None
    assert any("no liability preview" in step["finding"] for step in r.json()["trace"]), r.json()


def test_offsets_beyond_a_database_integer_are_422(memory_client: TestClient) -> None:
    huge = str(2**63)
    for path, params in [
        ("/care-guarantee/breaches", {"offset": huge}),
        ("/finance/liability/contacts", {"home_region": "14", "month": "2025-10", "offset": huge}),
        ("/access-trail", {"offset": huge}),
    ]:
        r = memory_client.get(path, params=params)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["field"] == "query.offset"
