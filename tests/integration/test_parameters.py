"""Issue 16 item 2 (and item 3 for queries): a query or path parameter holding NUL, a
non-ASCII digit or an identity number is a 422 naming the parameter, on every GET route
(enumerated from the app's routes), answered on a kept-alive connection, against a real
uvicorn and PostgreSQL (whose text cannot hold NUL: this used to be a 500 that closed the
connection)."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode
from uuid import uuid4

import pytest

from api.app import create_app
from routing.config import Settings
from tests.auth_support import all_roles
from tests.served import served

pytestmark = pytest.mark.postgres

NUMBER = "19121212-1212"
HOSTILE = {
    "nul": "\x00",
    "nul-inside": "a\x00b",
    "identity-number": NUMBER,
    "samordningsnummer": "19701063-2391",
    "fullwidth-digits": "".join(chr(0xFF10 + int(d)) for d in "2025"),
}
EXAMPLES = {
    "episode_id": str(uuid4()), "contact_id": "c1", "home_region": "14",
    "event_type": "contact_requested",
}  # fmt: skip


def get_parameters(app: Any) -> dict[str, list[tuple[str, str]]]:
    """Every GET route of the OpenAPI document the app serves, with its (in, name)
    parameters; routes left out of the document (docs pages) have none."""
    paths = app.openapi()["paths"]
    found = {
        path: [(p["in"], p["name"]) for p in ops["get"].get("parameters", [])]
        for path, ops in paths.items()
        if "get" in ops
    }
    assert len(found) > 20, "GET routes not found in the OpenAPI document"
    return found


def cases(app: Any) -> Iterator[tuple[str, str, str, str]]:
    """(kind, route path, parameter, hostile value) for every parameter of every GET route."""
    for path, parameters in get_parameters(app).items():
        for kind, value in HOSTILE.items():
            for where, name in parameters:
                yield kind, path, f"{where}.{name}", value


def _url(path: str, field: str, value: str) -> str:
    where, name = field.split(".", 1)
    params = {p: EXAMPLES.get(p, "x") for p in re.findall(r"{(\w+)}", path)}
    if where == "path":
        params[name] = value
    url = path.format(**{k: quote(v, safe="") for k, v in params.items()})
    return url + ("?" + urlencode({name: value}) if where == "query" else "")


@pytest.fixture
def port(postgres_settings: Settings) -> Iterator[int]:
    with served(create_app(postgres_settings)) as p:
        yield p


def test_every_get_parameter_refuses_hostile_values_on_one_connection(
    port: int, postgres_settings: Settings
) -> None:
    app = create_app(postgres_settings)
    tried = list(cases(app))
    assert {c[1] for c in tried} == {p for p, ps in get_parameters(app).items() if ps}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses: dict[str, dict[int, int]] = {}
    failures = []
    conn.connect()
    sock = conn.sock
    for kind, path, field, value in tried:
        url = _url(path, field, value)
        conn.request("GET", url, headers=all_roles())
        r = conn.getresponse()
        body = r.read()
        by = statuses.setdefault(kind, {})
        by[r.status] = by.get(r.status, 0) + 1
        if r.status != 422 or json.loads(body).get("field") != field:
            failures.append(f"{kind} {url}: {r.status} {body[:200]!r}")
        if NUMBER.encode() in body:
            failures.append(f"{kind} {url}: the number is echoed")
        assert conn.sock is sock, f"the server closed the connection after {url}"
    print("hostile parameter cases per class and status:", statuses)
    assert failures == []
    # the same connection still serves an ordinary request
    conn.request("GET", "/access-trail?limit=1", headers=all_roles())
    assert conn.getresponse().status == 200
    assert conn.sock is sock


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/finance/liability/contacts?home_region=14&month=2025-10&mode=%00", "query.mode"),
        ("/access-trail?subject=%00", "query.subject"),
        (f"/episodes/{EXAMPLES['episode_id']}%00", "path.episode_id"),
        (f"/finance/contacts/{EXAMPLES['episode_id']}/c%00", "path.contact_id"),
        ("/nowhere%00", "path.path"),
    ],
)
def test_the_reported_urls(port: int, url: str, field: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", url, headers=all_roles())
    r = conn.getresponse()
    body = json.loads(r.read())
    assert (r.status, body["code"], body["field"]) == (422, "validation_error", field)
    assert r.getheader("connection") != "close"


def test_an_episode_id_shaped_like_a_date_is_not_an_identity_number(
    sqlite_settings: Any,
) -> None:
    """A UUID whose last group holds a date-shaped run of digits (one random UUID in several
    thousand) is an episode id, not a personnummer: the read answers 404 (unknown episode),
    not 422; the same digits standing alone are still refused."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.auth_support import all_roles

    with TestClient(create_app(sqlite_settings), headers=all_roles()) as client:
        dated = "0b6f1f52-5a53-4c55-9a8e-191212121212"
        assert client.get(f"/episodes/{dated}").status_code == 404
        assert client.get(f"/care-guarantee/episodes/{dated}").status_code in (200, 404)
        refused = client.get("/access-trail", params={"subject": "191212121212"})
        assert refused.status_code == 422
        assert refused.json()["field"] == "query.subject"
