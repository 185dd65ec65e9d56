"""One error shape for every error: a machine ``code``, a human ``message``, and the field.

A store that is unavailable (PostgreSQL restarting) is a 503 ``store_unavailable`` with
``Retry-After``; anything unexpected is a 500 ``internal_error`` in the same JSON shape, never
the server's text/plain page (the core's routes map them the same way: api/core.py).

FastAPI's own 422 names fields as location tuples that include the discriminator tag of the
event union; front-end developers want ``events[3].occurred_at``, so the handler rewrites them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from routing.episodes.events import EVENT_TYPES
from routing.episodes.service import EpisodeNotFound, EventRejected
from routing.operations.resilience import RETRY_AFTER_SECONDS, TRANSIENT, is_transient

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None
    index: int | None = None
    errors: list[FieldError] | None = None


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'events', 0, 'contact_requested', 'occurred_at') -> 'events[0].occurred_at'."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p in EVENT_TYPES or str(p).startswith("function-"):
            continue  # union tag / validator wrapper, not a field the client wrote
        else:
            out += f".{p}" if out else str(p)
    return out or "body"


def _field_error(err: dict[str, Any]) -> FieldError:
    kind = str(err.get("type", "value_error"))
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if kind == "json_invalid":  # FastAPI: loc is ('body', character offset); pydantic: ()
        loc = list(err.get("loc", ()))
        where = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        reason = (err.get("ctx") or {}).get("error", "")
        if reason and reason in message:
            reason = ""
        return FieldError(
            field="body", message=f"{message}{where}: {reason}".strip(" :"), type=kind
        )
    field = field_path(err.get("loc", ()))
    if kind in ("union_tag_invalid", "union_tag_not_found"):  # the tag itself is the bad field
        tag = str((err.get("ctx") or {}).get("discriminator", "type")).strip("'")
        field = tag if field == "body" else f"{field}.{tag}"
    return FieldError(field=field, message=message, type=kind)


def validation_body(raw: Sequence[Any]) -> ErrorBody:
    """pydantic's (or FastAPI's) error list as the API's 422 body."""
    errors = [_field_error(err) for err in raw]
    first = errors[0] if errors else None
    return ErrorBody(
        code="validation_error",
        message=f"{first.field}: {first.message}" if first else "invalid request",
        field=first.field if first else None,
        errors=errors,
    )


def rejected_body(exc: EventRejected, *, batch: bool) -> ErrorBody:
    field = exc.field
    if field and batch:
        field = f"events[{exc.index}].{field}"
    return ErrorBody(
        code=exc.code,
        message=(f"events[{exc.index}]: " if batch else "") + exc.message,
        field=field,
        index=exc.index if batch else None,
    )


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    body = validation_body(exc.errors())
    return JSONResponse(body.model_dump(exclude_none=True), status_code=422)


def _rejected(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EventRejected)
    body = rejected_body(exc, batch=request.url.path.endswith("/batch"))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=exc.status)


def _not_found(_: Request, exc: Exception) -> JSONResponse:
    body = ErrorBody(code="episode_not_found", message=f"no episode {exc}")
    return JSONResponse(body.model_dump(exclude_none=True), status_code=404)


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
}


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = ErrorBody(code=_CODES.get(exc.status_code, "http_error"), message=str(exc.detail))
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=exc.status_code, headers=exc.headers
    )


UNAVAILABLE_HEADERS = {"Retry-After": str(RETRY_AFTER_SECONDS)}


def server_error(exc: BaseException, where: str) -> tuple[int, ErrorBody, dict[str, str]]:
    """Status, body and headers for an exception no handler turned into a 4xx: a store that
    is unavailable is 503 with Retry-After (the client retries; event ids make it safe),
    anything else 500, logged with its traceback."""
    if is_transient(exc):
        log.warning("store unavailable at %s: %s", where, str(exc).splitlines()[0][:200])
        body = ErrorBody(
            code="store_unavailable",
            message="the store is unavailable for a moment; retry after the time in Retry-After",
        )
        return 503, body, dict(UNAVAILABLE_HEADERS)
    log.error("unexpected error at %s", where, exc_info=exc)
    return 500, ErrorBody(code="internal_error", message="unexpected error (logged)"), {}


def _server_error(request: Request, exc: Exception) -> JSONResponse:
    status, body, headers = server_error(exc, request.url.path)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(EventRejected, _rejected)
    app.add_exception_handler(EpisodeNotFound, _not_found)
    for transient in TRANSIENT:
        app.add_exception_handler(transient, _server_error)
    app.add_exception_handler(Exception, _server_error)  # outermost: JSON, never text/plain


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No bearer token, or an invalid or expired one."},
    403: {"model": ErrorBody, "description": "The token's role or binding does not allow it."},
    409: {"model": ErrorBody, "description": "A rule of the journey or of idempotency refused it."},
    413: {"model": ErrorBody, "description": "Body larger than the configured limit."},
    422: {"model": ErrorBody, "description": "Invalid body; `field` names the first bad field."},
    503: {
        "model": ErrorBody,
        "description": "`store_unavailable`: the store is restarting; retry after `Retry-After` "
        "seconds (the same `event_id` makes the retry idempotent).",
    },
}
