"""The ``period`` query parameter of /care-guarantee/* and /indicators/*: one month
(``2026-03``) or a range of days, both inclusive (``2026-03-01..2026-03-31``).

It replaces ``month``, ``from`` and ``to``, whose rules ("month, or from and to; not both, not
one of them") JSON Schema cannot state of query parameters, so the published document admitted
requests the server refused. One parameter whose pattern is the whole rule: the pattern admits
exactly the real Gregorian days of the years 1900-2999 (no 2026-02-30, 29 February only in leap
years), so what the schema admits the server answers. A range given backwards (``to`` before
``from``) is an empty period and answered as one, as the audit routes answer an empty interval
(docs/contracts.md).

Why 1900-2999: no care guarantee or digital-care indicator exists before 1900, the population
lookup reads the year before the period, and the day after the last one must not overflow.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Query

_YEAR = "(?:19|2[0-9])[0-9]{2}"
_MONTH_DAY = (
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"  # every month has days 1-28
    "|(?:0[13-9]|1[0-2])-(?:29|30)"  # every month but February has 29 and 30
    "|(?:0[13578]|1[02])-31)"  # the seven long months
)
_LEAP_DAY = "(?:(?:19|2[0-9])(?:0[48]|[2468][048]|[13579][26])|2[048]00)-02-29"
DAY_PATTERN = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})"
MONTH_PATTERN = f"{_YEAR}-(?:0[1-9]|1[0-2])"
PERIOD_PATTERN = f"^(?:{MONTH_PATTERN}|{DAY_PATTERN}\\.\\.{DAY_PATTERN})$"
"""Written with ``[0-9]``, not ``\\d`` (which matches any Unicode digit in both Python's and
the Rust regex engine pydantic uses), and without look-arounds (the Rust engine has none)."""

_DESCRIPTION = (
    "A month, `YYYY-MM` (clocks or contacts that started in it), or a range of days "
    "`YYYY-MM-DD..YYYY-MM-DD`, both days included; real days of the years 1900-2999. "
    "A range given backwards is empty and answered empty."
)
PeriodText = Annotated[
    str,
    Query(
        pattern=PERIOD_PATTERN,
        description=_DESCRIPTION,
        openapi_examples={
            "month": {"summary": "March 2026", "value": "2026-03"},
            "days": {"summary": "The first quarter of 2026", "value": "2026-01-01..2026-03-31"},
        },
    ),
]
"""A required ``period`` (an optional one: ``OptionalPeriodText``)."""
OptionalPeriodText = Annotated[
    str | None, Query(pattern=PERIOD_PATTERN, description=_DESCRIPTION + " Absent: every day.")
]
_MATCH = re.compile(PERIOD_PATTERN)


@dataclass(frozen=True)
class Days:
    """The days of a period, ``first`` through ``last`` inclusive; empty when ``last`` is
    before ``first`` (a range given backwards)."""

    first: date
    last: date

    @property
    def empty(self) -> bool:
        return self.last < self.first


def parse_period(text: str) -> Days:
    """The days ``text`` names. The route's pattern has already admitted it; this raises
    ``ValueError`` only for a caller that skipped the route (the console passes its own)."""
    if not _MATCH.fullmatch(text):
        raise ValueError(f"{text!r} is not a period (YYYY-MM or YYYY-MM-DD..YYYY-MM-DD)")
    if ".." in text:
        first, last = text.split("..")
        return Days(date.fromisoformat(first), date.fromisoformat(last))
    year, month = int(text[:4]), int(text[5:7])
    return Days(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
