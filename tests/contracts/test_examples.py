"""The request examples of /docs (issue 21, item 6) are on every write a front-end or an
auditor makes, and each one, posted as it stands to a fresh app, succeeds."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from routing.config import Settings, StoreKind
from tests.auth_support import TEST_KEYS, all_roles

WRITES = ["/events", "/events/batch", "/routing/decisions", "/finance/months/close",
          "/audit/simulations"]  # fmt: skip


def test_every_write_has_an_example_that_works() -> None:
    settings = Settings(store=StoreKind.memory, _env_file=None, **TEST_KEYS)  # type: ignore[call-arg]
    with TestClient(create_app(settings), headers=all_roles()) as client:
        doc = client.get("/openapi.json").json()
        for path in WRITES:
            content = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]
            examples = content.get("examples", {})
            assert examples, f"{path} has no request example"
            if path == "/events":
                continue  # one example per event type: a journey, posted by the batch example
            for example in examples.values():
                r = client.post(path, json=example["value"])
                assert r.status_code in (200, 201), (path, r.text)


def test_get_routes_document_the_real_422_body() -> None:
    settings = Settings(store=StoreKind.memory, _env_file=None, **TEST_KEYS)  # type: ignore[call-arg]
    with TestClient(create_app(settings), headers=all_roles()) as client:
        doc = client.get("/openapi.json").json()
        documented = doc["paths"]["/finance/liability"]["get"]["responses"]["422"]
        schema = documented["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        body = client.get("/finance/liability?home_region=14&month=March").json()
        assert set(body) <= set(doc["components"]["schemas"][schema]["properties"])
        assert {"code", "message", "field"} <= set(body)
