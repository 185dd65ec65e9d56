"""Query parameters shared by the read routes: a region code must name a region, an instant
must be an ISO 8601 timestamp with an offset.

``^\\d{2}$`` alone lets '02' (unused since 1998) or '42' through to an empty answer, which
reads as "nothing owed"; a 422 naming the parameter says what is wrong. The published schema
is the set of codes itself, so that what the OpenAPI document admits is what the server does.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, WithJsonSchema

from routing.episodes.vocabulary import ASYLUM_SEEKER_COUNTY, COUNTY_CODES


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
