"""The OpenAPI document as the server behaves: who may call what, and every answer it gives.

FastAPI derives the document from the routes, but not what the middleware and the router's
dependencies answer: the bearer token (401) and role (403) checks of ``require``, the 400 of a
body that cannot be read, the 413 of ``BodySizeLimit``, and the API's own 422 body (FastAPI
documents its default ``HTTPValidationError``, which this API never sends). They are added
here, once, so that a new route is documented the same way.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import ErrorBody

SCHEME = "bearerAuth"
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_ANSWERS = {
    "400": "The body could not be read (not JSON, or not the content type declared).",
    "401": "No bearer token, or an invalid or expired one (header `WWW-Authenticate`).",
    "403": "The token's role or binding does not allow it.",
    "413": "Body larger than the configured limit (ROUTING_MAX_BODY_BYTES).",
    "422": "Invalid request; `field` names the first bad field (`events[3].occurred_at`).",
}
_CHALLENGE = {
    "WWW-Authenticate": {
        "description": 'Bearer realm="routing" (with error="invalid_token" for a bad one)',
        "schema": {"type": "string"},
    }
}


PUBLIC = frozenset(
    {"/health", "/live", "/ready", "/metrics", "/schemas/events", "/schemas/events/{event_type}"}
)
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


def _complete(operation: dict[str, Any], protected: bool) -> None:
    responses = operation.setdefault("responses", {})
    wanted = ["422"] if "parameters" in operation or "requestBody" in operation else []
    if "requestBody" in operation:
        wanted += ["400", "413"]
    if protected:
        wanted += ["401", "403"]
        operation["security"] = [{SCHEME: []}]
    for code in wanted:
        responses[code] = _error(_ANSWERS[code], _CHALLENGE if code == "401" else None)


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
            _complete(operation, path not in PUBLIC)
    app.openapi_schema = doc
    return doc
