"""Query parameters shared by the read routes: a region code must name a region.

``^\\d{2}$`` alone lets '02' (unused since 1998) or '42' through to an empty answer, which
reads as "nothing owed"; a 422 naming the parameter says what is wrong.
"""

from __future__ import annotations

from pydantic import AfterValidator

from routing.episodes.vocabulary import ASYLUM_SEEKER_COUNTY, COUNTY_CODES


def _region_code(code: str | None) -> str | None:
    if code is None or code in COUNTY_CODES or code == ASYLUM_SEEKER_COUNTY:
        return code
    raise ValueError(
        f"'{code}' is not the län code of a Swedish region "
        f"(expected one of {', '.join(sorted(COUNTY_CODES))}, or 99 for asylum seekers)"
    )


KnownRegion = AfterValidator(_region_code)

MAX_OFFSET = 2**31 - 1
"""Paging offsets beyond this are refused (422) rather than overflowing the database's integer."""
