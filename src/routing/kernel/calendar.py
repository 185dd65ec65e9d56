"""Swedish time, Swedish months and the dates the sources fix, in one place.

Every rule that speaks of a day (C1's rulebook choice, the care guarantee's day count, a
billing month) means the calendar day in Europe/Stockholm; so do the read models that group by
month and the console that shows times. They all take their zone and pattern from here.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
"""A month as YYYY-MM (01-12): billing months and query parameters. ``[0-9]``, not ``\\d``
(which matches any Unicode digit in Python's and pydantic's regex engines)."""
MONTH = re.compile(MONTH_PATTERN)

DS_2023_27_PROPOSED_IN_FORCE = date(2025, 10, 1)
"""Ds 2023:27 proposes that its rules apply from 1 October 2025 (not confirmed enacted, so the
rulebook switch's default date, a setting, not a constant of the rules)."""


def swedish_date(moment: datetime) -> date:
    """The calendar day in Sweden on which ``moment`` falls; a naive datetime has none."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no Swedish date; give a timezone")
    return moment.astimezone(STOCKHOLM).date()


def swedish_month(moment: datetime) -> str:
    """The Swedish month (YYYY-MM) in which ``moment`` falls."""
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m")
