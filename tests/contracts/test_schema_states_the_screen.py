"""What the server refuses, the published OpenAPI document refuses too (issue 16, item 9): the
rules schemathesis found as 422s the schema did not announce. Each case is validated against
the document the app serves (jsonschema, the validator schemathesis uses) and sent to the app;
both must agree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import jsonschema
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from routing.config import Settings, StoreKind
from tests.auth_support import TEST_KEYS, all_roles


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(  # type: ignore[call-arg]
        store=StoreKind.memory, read_wait_seconds=0, _env_file=None, **TEST_KEYS
    )
    with TestClient(create_app(settings), headers=all_roles()) as c:
        yield c


@pytest.fixture(scope="module")
def doc(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def _admits(doc: dict[str, Any], schema: dict[str, Any], value: Any) -> bool:
    """Whether ``schema`` (with the document's components) admits ``value``."""
    full = {**schema, "components": doc["components"]}
    return jsonschema.Draft202012Validator(full).is_valid(value)


def _parameter(doc: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    (found,) = [p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name]
    schema: dict[str, Any] = found["schema"]
    return schema


def _question(criteria: list[str]) -> dict[str, Any]:
    return {
        "request_id": str(uuid4()), "planned_start": "2026-03-02T09:00:00+01:00",
        "home_region": {"county": "14", "municipality": "1480"}, "requested_mode": "chat",
        "assessment": {
            "criteria_set": {"id": "vgr-2025", "version": "1"}, "answered_criteria": criteria,
            "outcome": "distance_suitable", "assessor_profession": "nurse",
            "assessor_licensed": True, "occurred_at": "2026-03-02T08:50:00+01:00",
        },
    }  # fmt: skip


@pytest.mark.parametrize(
    ("criterion", "taken"),
    [("p1", True), ("Överläkare bedömer 2", True), ("p\x001", False), ("p\u0663", False),
     ("p\uff11", False), ("p\U0001d7cf", False)],
)  # fmt: skip
def test_a_routing_questions_criteria_refuse_what_the_screen_refuses(
    client: TestClient, doc: dict[str, Any], criterion: str, taken: bool
) -> None:
    """NUL and non-ASCII digits (Arabic-Indic, fullwidth, mathematical): the server refuses
    them in every string; the criterion's published pattern says so (it said "any string")."""
    body = _question([criterion])
    schema = doc["paths"]["/routing/decisions"]["post"]["requestBody"]["content"]
    assert _admits(doc, schema["application/json"]["schema"], body) is taken
    answered = client.post("/routing/decisions", json=body)
    assert (answered.status_code == 200) is taken, answered.text


def test_min_position_stops_below_the_personnummer_shaped_integers(
    client: TestClient, doc: dict[str, Any]
) -> None:
    """``1212121212`` reads as a personnummer and is refused at the edge; the schema's maximum
    keeps every admitted integer at nine digits (``1000000000`` is refused by the bound)."""
    schema = _parameter(doc, "/finance/liability", "min_position")
    assert _admits(doc, schema, 999_999_999)
    for value in (1_000_000_000, 1_212_121_212):
        assert not _admits(doc, schema, value)
        r = client.get("/finance/liability", params={"home_region": "14", "month": "2026-01",
                                                     "min_position": value})  # fmt: skip
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "query.min_position"
    r = client.get(
        "/finance/liability",
        params={"home_region": "14", "month": "2026-01", "min_position": 999_999_999},
    )
    assert r.status_code == 409, r.text  # admitted, and not yet projected (no wait)  # fmt: skip


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [("/finance/liability/contacts", "profession", "doc\x00tor"),
     ("/finance/liability/contacts", "mode", "\u0661"),
     ("/access-trail", "subject", "a\x00")],
)  # fmt: skip
def test_free_text_parameters_publish_the_screen(
    client: TestClient, doc: dict[str, Any], path: str, name: str, value: str
) -> None:
    schema = _parameter(doc, path, name)
    assert not _admits(doc, schema, value)
    assert _admits(doc, schema, "doctor")
    params = {"home_region": "14", "month": "2026-01"} if "liability" in path else {}
    r = client.get(path, params={**params, name: value})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == f"query.{name}"


def test_an_hsa_id_whose_organisation_number_is_a_personnummer(doc: dict[str, Any]) -> None:
    """SE + a sole trader's organisation number (a personnummer, 530222-8768 shaped) is
    refused by the screen; the pattern admits only organisation numbers with a third digit of
    2 or more, as a legal entity's is (SE2321000115: Region Stockholm's shape)."""
    unit = doc["components"]["schemas"]["PhysicalVisitBooked"]["properties"]["care_unit_id"]
    assert _admits(doc, unit, "SE2321000115-094882")
    assert not _admits(doc, unit, "SE5302228768-5y")
    assert not _admits(doc, unit, "SE23210001\u0661\u0665-1")


def test_an_unlicensed_assessor_is_published(doc: dict[str, Any]) -> None:
    schema = {"$ref": "#/components/schemas/NeedAndSuitabilityAssessed"}
    fact = {
        "type": "need_and_suitability_assessed", "event_id": str(uuid4()),
        "episode_id": str(uuid4()), "occurred_at": "2026-03-02T08:50:00+01:00",
        "source": "kry-chat", "criteria_set": {"id": "vgr-2025", "version": "1"},
        "outcome": "distance_suitable", "assessor_profession": "assistant_nurse",
        "assessor_licensed": True,
    }  # fmt: skip
    assert not _admits(doc, schema, fact)
    assert _admits(doc, schema, {**fact, "assessor_licensed": False})
    assert _admits(doc, schema, {**fact, "assessor_profession": "nurse"})


def test_the_fact_writes_declare_the_rules_beyond_the_schema(doc: dict[str, Any]) -> None:
    for path in ("/events", "/events/batch"):
        said = doc["paths"][path]["post"]["responses"]["422"]["description"]
        assert "occurred_in_future" in said
        assert "`ends_on` before its `starts_on`" in said
