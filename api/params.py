"""Query and path parameters: a region code must name a region, an instant must be an ISO
8601 timestamp with an offset, and no parameter of any route holds NUL, a non-ASCII digit
or an identity number.

``^\\d{2}$`` alone lets '02' (unused since 1998) or '42' through to an empty answer, which
reads as "nothing owed"; a 422 naming the parameter says what is wrong. The published schema
is the set of codes itself, so that what the OpenAPI document admits is what the server does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, WithJsonSchema
from starlette.routing import compile_path
from starlette.types import Message, Scope, Send

from api.errors import validation_body
from routing.episodes.vocabulary import ASYLUM_SEEKER_COUNTY, COUNTY_CODES
from routing.identity.screen import plainly_clean, refusal


def _region_code(code: str | None) -> str | None:
    if code is None or code in COUNTY_CODES or code == ASYLUM_SEEKER_COUNTY:
        return code
    raise ValueError(
        f"'{code}' is not the län code of a Swedish region "
        f"(expected one of {', '.join(sorted(COUNTY_CODES))}, or 99 for asylum seekers)"
    )


REGION_SCHEMA = {"type": "string", "enum": [*sorted(COUNTY_CODES), ASYLUM_SEEKER_COUNTY]}
KnownRegion = AfterValidator(_region_code)
RegionSchema = WithJsonSchema(REGION_SCHEMA)
"""Put after ``Query(...)``: the parameter's published schema is the set of codes."""


def _iso_instant(value: Any) -> Any:
    """pydantic reads '0.5' as a Unix time; a query instant must be ISO 8601 (RFC 3339)."""
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time with an offset") from None
    return value


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_instant),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A query parameter naming an instant: ISO 8601 with a time zone, never a number."""


def _iso_date(value: Any) -> Any:
    """pydantic reads '0' as a Unix time; a query day must be YYYY-MM-DD."""
    if isinstance(value, str):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date, YYYY-MM-DD") from None
    return value


Day = Annotated[
    date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})
]
"""A query parameter naming a day: YYYY-MM-DD, never a number."""

MAX_OFFSET = 2**31 - 1
"""Paging offsets beyond this are refused (422) rather than overflowing the database's integer."""


def refused_parameter(scope: Scope) -> tuple[str, str] | None:
    """The first query or path parameter no route may take, as (``query.<name>`` or
    ``path.<name>``, why): one holding NUL (PostgreSQL text cannot, and it used to be a 500
    that closed the connection), a digit other than ASCII 0-9, or an identity number (a
    number a finance user typed would otherwise be stored in the access trail, or looked up).
    Checked once at the edge for every route, before any route or dependency runs."""
    raw = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(raw, keep_blank_values=True) if raw else ():
        why = refusal(name) or _screened(value)
        if why is not None:
            return f"query.{_printable(name)}", why
    path: str = scope.get("path", "")
    if (why := _screened(path)) is None:
        return None
    return f"path.{_path_parameter(scope)}", why


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


_DIGEST = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{64}(?![0-9A-Za-z])")
"""A SHA-256 digest in hex: the chain's ``anchor=POSITION:DIGEST`` (api/routes/audit.py)."""


def _screened(text: str) -> str | None:
    """``refusal`` of ``text`` with its UUIDs and digests left out: about one random UUID in
    several thousand, and one chain head in 180, holds a date-shaped run of digits glued to
    its letters, and an episode's own id or a head the chain printed must not be refused (the
    facts' UUID fields are left to their parser for the same reason). A digest is screened as
    a hex pseudonym is: only a number standing apart from letters counts."""
    if plainly_clean(text):  # most paths (``/routing/decisions``) hold no digits at all
        return None
    text = _UUID.sub("-", text)
    for digest in _DIGEST.findall(text):
        if (why := refusal(digest, pseudonym=True)) is not None:
            return why
    return refusal(_DIGEST.sub("-", text))


def _printable(name: str) -> str:
    clean = "".join(c if c.isprintable() and c.isascii() else "?" for c in name)
    return clean if refusal(clean) is None else "?"


def _path_parameter(scope: Scope) -> str:
    """The name of the path parameter holding what was refused (``episode_id``), or
    ``path`` when no route's template matches the path. Only runs for a refused path."""
    path: str = scope.get("path", "")
    for template in _templates(getattr(scope.get("app"), "routes", [])):
        if (m := compile_path(template)[0].match(path)) is not None:
            for name, value in m.groupdict().items():
                if _screened(value) is not None:
                    return name
    return "path"


def _templates(routes: list[Any], prefix: str = "") -> Iterator[str]:
    """Every route's path template, through included routers at any depth."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path
        elif hasattr(route, "original_router"):  # FastAPI's included router
            yield from _templates(
                route.original_router.routes, prefix + route.include_context.prefix
            )


async def refuse(field: str, why: str, send: Send) -> None:
    """Answers 422 in the API's error shape, naming the parameter."""
    body = validation_body([{"loc": field.split(".", 1), "msg": why, "type": "value_error"}])
    response = JSONResponse(body.model_dump(exclude_none=True), status_code=422)
    await response({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
