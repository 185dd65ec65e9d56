"""The OpenAPI document as the server behaves: who may call what, and every answer it gives.

FastAPI derives the document from the routes, but not what the middleware and the router's
dependencies answer: the bearer token (401) and role (403) checks of ``require``, the 400 of a
body that cannot be read, the 413 of ``BodySizeLimit``, and the API's own 422 body (FastAPI
documents its default ``HTTPValidationError``, which this API never sends). They are added
here, once, so that a new route is documented the same way.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from api.errors import ErrorBody, validation_body

SCHEME = "bearerAuth"
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_ANSWERS = {
    "400": "The body could not be read (not JSON, or not the content type declared).",
    "401": "No bearer token, or an invalid or expired one (header `WWW-Authenticate`).",
    "403": "The token's role or binding does not allow it.",
    "413": "Body larger than the configured limit (ROUTING_MAX_BODY_BYTES).",
    "415": "The body is not declared as JSON (Content-Type application/json).",
    "422": "Invalid request; `field` names the first bad field (`events[3].occurred_at`).",
    "409": "`min_position` not yet applied by the read model within ROUTING_READ_WAIT_SECONDS "
    "(`not_yet_projected`, with its current `position`; retry after `Retry-After`).",
}
BEYOND_SCHEMA = (
    " Also refused, by rules that relate a field to the clock or to another field, which no "
    "JSON Schema can state: `occurred_in_future` (an `occurred_at` later than now plus "
    "ROUTING_CLOCK_SKEW_SECONDS), and an `ends_on` before its `starts_on` "
    "(`medically_caused_wait`)."
)
"""Said on the 422 of the fact writes (docs/contracts.md, *Rules no schema can state*)."""
_FACT_WRITES = frozenset({"/events", "/events/batch"})
_RETRY = {"Retry-After": {"description": "Seconds before a retry.", "schema": {"type": "string"}}}
_CHALLENGE = {
    "WWW-Authenticate": {
        "description": 'Bearer realm="routing" (with error="invalid_token" for a bad one)',
        "schema": {"type": "string"},
    }
}


PUBLIC = frozenset(
    {"/health", "/live", "/ready", "/metrics", "/schemas/events", "/schemas/events/{event_type}",
     "/projections/positions"}
)  # fmt: skip
"""The routes without a bearer token (README, *Security*); every other one is behind
``api.auth.require`` (tests/contracts/test_openapi_contract.py holds both lists to it)."""


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ERROR_REF}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _complete(operation: dict[str, Any], protected: bool, facts: bool) -> None:
    responses = operation.setdefault("responses", {})
    wanted = ["422"] if "parameters" in operation or "requestBody" in operation else []
    if "requestBody" in operation:
        wanted += ["400", "413", "415"]
    if protected:
        wanted += ["401", "403"]
        operation["security"] = [{SCHEME: []}]
    if "409" not in responses and any(  # a route's own 409 (a month not closed) says more
        p.get("name") == "min_position" for p in operation.get("parameters", [])
    ):
        wanted += ["409"]
    headers = {"401": _CHALLENGE, "409": _RETRY}
    for code in wanted:
        said = _ANSWERS[code] + (BEYOND_SCHEMA if facts and code == "422" else "")
        responses[code] = _error(said, headers.get(code))


def openapi_of(app: FastAPI) -> dict[str, Any]:
    """The document, completed; built once and kept (as FastAPI's own ``openapi()`` does)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, summary=app.summary,
        description=app.description, routes=app.routes, servers=app.servers or None,
    )  # fmt: skip
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    error = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error.pop("$defs", {}), ErrorBody=error)
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422, never sent
        schemas.pop(name, None)
    doc["components"]["securitySchemes"] = {
        SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            _complete(operation, path not in PUBLIC, path in _FACT_WRITES)
    app.openapi_schema = doc
    return doc


class KnownQuery:
    """Refuses query parameters an operation does not declare (422 naming the first), as an
    unknown body field is refused: ``?statu=open`` must not read as "no filter". The names
    come from the OpenAPI document, so what it declares is what the server takes. Pure ASGI;
    it runs ahead of both fronts of the core's routes (api/core.py, api/fastlane.py)."""

    def __init__(self, app: Any, api: FastAPI) -> None:
        self.app, self.api = app, api
        self._table: list[tuple[str, re.Pattern[str], frozenset[str]]] | None = None

    def _allowed(self, method: str, path: str) -> frozenset[str] | None:
        if self._table is None:
            self._table = [
                (m.upper(), re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", p) + "$"),
                 frozenset(x["name"] for x in op.get("parameters", ()) if x["in"] == "query"))
                for p, ops in openapi_of(self.api)["paths"].items() for m, op in ops.items()
            ]  # fmt: skip
        for m, pattern, names in self._table:
            if m == method and pattern.match(path):
                return names
        return None  # not an operation of the document: the router answers (404, 405)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            allowed = self._allowed(scope["method"], scope["path"])
            unknown = [] if allowed is None else unknown_query(scope["query_string"], allowed)
            if unknown:
                await JSONResponse(unknown_query_body(unknown[0]), 422)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def unknown_query(query_string: bytes, allowed: frozenset[str]) -> list[str]:
    names = (name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return [name for name in names if name not in allowed]


def unknown_query_body(name: str) -> dict[str, Any]:
    error = {"loc": ("query", name), "msg": "unknown query parameter", "type": "extra_forbidden"}
    return validation_body([error]).model_dump(exclude_none=True)
