"""The OpenAPI document describes the API the server runs (issue 16, items 9 and 10), checked
with openapi-spec-validator, jsonschema's meta-schemas and requests to the real app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import jsonschema
import orjson
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from api.app import create_app
from api.contract import PUBLIC
from routing.config import Settings, StoreKind
from tests import support as f
from tests.auth_support import TEST_KEYS, all_roles

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
# SCB län codes of the 21 regions (02, 11, 15, 16 unused since 1997-98), 99 asylum seekers.
REGIONS = ["01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13", "14", "17",
           "18", "19", "20", "21", "22", "23", "24", "25", "99"]  # fmt: skip


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(store=StoreKind.memory, _env_file=None, **TEST_KEYS)  # type: ignore[call-arg]
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def doc(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_the_document_is_valid_openapi(doc: dict[str, Any]) -> None:
    validate(doc)


def test_every_event_schema_is_a_valid_json_schema() -> None:
    files = sorted((SCHEMAS / "events").glob("*.json"))
    assert len(files) >= 17
    for path in files:
        jsonschema.Draft202012Validator.check_schema(orjson.loads(path.read_bytes()))


def test_security_is_declared_and_matches_the_server(
    client: TestClient, doc: dict[str, Any]
) -> None:
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, method, op in _operations(doc):
        if method != "get" or "{" in path:
            continue
        answered = client.get(path).status_code  # no token
        if path in PUBLIC:
            assert "security" not in op, path
            assert answered != 401, path
        else:
            assert op["security"] == [{"bearerAuth": []}], path
            assert {"401", "403"} <= set(op["responses"]), path
            assert answered == 401, path


def test_undeclared_answers_are_declared(doc: dict[str, Any]) -> None:
    invoices = doc["paths"]["/finance/invoices"]["get"]["responses"]
    assert "409" in invoices  # before the month is closed
    assert "text/csv" in invoices["200"]["content"]
    assert "404" in doc["paths"]["/schemas/events/{event_type}"]["get"]["responses"]
    assert "400" in doc["paths"]["/events"]["post"]["responses"]
    for path, _, op in _operations(doc):
        error = op["responses"].get("422", {})
        if error:  # the API's error body, never FastAPI's default
            schema = error["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, path
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_region_parameters_are_the_set_of_codes(client: TestClient, doc: dict[str, Any]) -> None:
    params = [
        p for _, _, op in _operations(doc) for p in op.get("parameters", ())
        if p["name"] in ("home_region", "care_region", "region")
    ]  # fmt: skip
    assert len(params) >= 6
    for p in params:
        assert p["schema"]["enum"] == REGIONS, p
    r = client.get("/finance/liability?home_region=00&month=2026-03", headers=all_roles())
    assert r.status_code == 422
    assert r.json()["field"] == "query.home_region"


def test_discriminators_are_required(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for name in ("ContactRequested", "TriageCompleted", "AlgorithmTriage", "ProfessionalTriage"):
        schema = schemas.get(name) or schemas[f"{name}-Input"]
        tag = "kind" if name.endswith("Triage") else "type"
        assert tag in schema["required"], name


@pytest.mark.parametrize(
    "query",
    ["/audit/episodes/{ep}/known?at=0.5", "/audit/episodes/{ep}/occurred?at=0",
     "/access-trail?since=0.5", "/care-guarantee/breaches?as_of=0"],
)  # fmt: skip
def test_instants_refuse_numbers(client: TestClient, query: str) -> None:
    r = client.get(query.format(ep=uuid4()), headers=all_roles())
    assert r.status_code == 422, r.text


def test_bodies_refuse_numbers_for_instants_and_booleans(client: TestClient) -> None:
    event = {**f.contact_requested(uuid4()), "occurred_at": 0}
    assert client.post("/events", json=event, headers=all_roles()).status_code == 422
    question = {
        "request_id": str(uuid4()), "planned_start": "2025-11-03T10:00:00+01:00",
        "home_region": {"county": "14", "municipality": "1480"}, "care_region": "04",
        "requested_mode": "chat", "can_use_digital_tools": 0,
    }  # fmt: skip
    r = client.post("/routing/decisions", json=question, headers=all_roles())
    assert r.status_code == 422
    assert r.json()["field"] == "can_use_digital_tools"


def test_one_truth_for_the_patient_field(client: TestClient) -> None:
    """What the server accepts as ``patient`` the published schemas accept, and the reverse
    for every accepted spelling (19121212-1212 is Skatteverket's test personnummer)."""
    published = orjson.loads((SCHEMAS / "events" / "contact_requested.json").read_bytes())
    asyncapi = orjson.loads((SCHEMAS / "asyncapi.json").read_bytes())
    posted = asyncapi["components"]["schemas"]["ContactRequested"]["properties"]["patient"]
    pattern = published["properties"]["patient"]["pattern"]
    assert posted["pattern"] == pattern
    for value in ["121212+1212", "121212-1212", "1212121212", "19121212-1212",
                  "191212121212", "psn_3f9a2c7d41b04e8f"]:  # fmt: skip
        event = {**f.contact_requested(uuid4()), "patient": value}
        assert client.post("/events", json=event, headers=all_roles()).status_code == 201
        jsonschema.validate(value, {"type": "string", "pattern": pattern})
    for value in ["121212*1212", "short", "x" * 129]:
        event = {**f.contact_requested(uuid4()), "patient": value}
        assert client.post("/events", json=event, headers=all_roles()).status_code == 422
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(value, {"type": "string", "pattern": pattern})


def test_read_your_writes_and_reference_regions_are_declared(
    client: TestClient, doc: dict[str, Any]
) -> None:
    """Every read taking `min_position` may answer 409 `not_yet_projected`; the reference
    routes' `region` is the set of län codes (with 99), not `^\\d{2}$` that admits 00; their
    `on` is a day, and a number is not one (pydantic's lax mode read `0` as 1970-01-01)."""
    number = client.get("/reference/fee-schedules?on=0", headers=all_roles())
    assert number.status_code == 422
    assert number.json()["field"] == "query.on"
    for path, method, op in _operations(doc):
        names = {p["name"] for p in op.get("parameters", [])}
        if "min_position" in names:
            assert "409" in op["responses"], (method, path)
        if path.startswith("/reference/") and "region" in names:
            region = next(p for p in op["parameters"] if p["name"] == "region")
            assert {"14", "99"} <= set(region["schema"]["enum"]), path
            assert "00" not in region["schema"]["enum"], path
    assert "security" not in doc["paths"]["/projections/positions"]["get"]
