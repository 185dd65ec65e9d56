"""Swedish personal identity numbers (personnummer, SFS 1991:481 / SKV 704) and coordination
numbers (samordningsnummer: the day of birth plus 60).

Accepted forms: ``YYMMDD-NNNC``, ``YYMMDD+NNNC`` (100 years or older), ``YYMMDDNNNC``,
``YYYYMMDDNNNC`` and ``YYYYMMDD-NNNC``. A 10-digit form has its century resolved against a
reference day (the separator says whether the person has turned 100), so that every form of
the same number normalises to the same 12 digits, and so to the same pseudonym.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_SHAPE = re.compile(
    r"^(?P<century>\d{2})?(?P<yymmdd>\d{6})(?P<sep>[-+]?)(?P<serial>\d{3})(?P<check>\d)$"
)
_ANYWHERE = re.compile(r"(?<![0-9A-Za-z])(?:\d{2})?\d{6}[-+]?\d{4}(?![0-9A-Za-z])")


class InvalidIdentityNumber(ValueError):  # noqa: N818
    """Shaped like an identity number but not a valid one. The message never repeats it."""


@dataclass(frozen=True)
class IdentityNumber:
    digits: str
    """Twelve digits, YYYYMMDDNNNC: the normal form every accepted spelling maps to."""
    coordination: bool
    """A samordningsnummer (day + 60) rather than a personnummer."""

    def __repr__(self) -> str:  # never print the number itself, not even in a traceback
        kind = "samordningsnummer" if self.coordination else "personnummer"
        return f"IdentityNumber(<{kind}>)"

    __str__ = __repr__


def looks_like_identity_number(value: str) -> bool:
    return _SHAPE.match(value) is not None


def luhn_check_digit(nine: str) -> int:
    """The Luhn check digit over YYMMDDNNN (weights 2,1,2,1,...)."""
    total = 0
    for i, ch in enumerate(nine):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return (10 - total % 10) % 10


def parse_identity_number(value: str, today: date) -> IdentityNumber:
    """Validates format, date (with +60 for samordningsnummer) and check digit."""
    m = _SHAPE.match(value)
    if m is None:
        raise InvalidIdentityNumber("is not shaped like a personnummer or samordningsnummer")
    yymmdd, serial, check = m["yymmdd"], m["serial"], int(m["check"])
    if luhn_check_digit(yymmdd + serial) != check:
        raise InvalidIdentityNumber("personnummer or samordningsnummer has a wrong check digit")
    day = int(yymmdd[4:6])
    coordination = day > 60
    if coordination:
        day -= 60
    year = _year(m["century"], int(yymmdd[:2]), m["sep"], today)
    try:
        born = date(year, int(yymmdd[2:4]), day)
    except ValueError:
        raise InvalidIdentityNumber(
            "personnummer or samordningsnummer does not hold a valid date of birth"
        ) from None
    if born > today:
        raise InvalidIdentityNumber("personnummer or samordningsnummer has a future birth date")
    digits = f"{year:04d}{yymmdd[2:4]}{int(yymmdd[4:6]):02d}{serial}{check}"
    return IdentityNumber(digits=digits, coordination=coordination)


def _year(century: str | None, yy: int, sep: str, today: date) -> int:
    if century is not None:
        return int(century) * 100 + yy
    year = (today.year // 100) * 100 + yy
    if year > today.year:
        year -= 100
    if sep == "+":  # turned 100: one century further back
        year -= 100
    return year


def find_identity_numbers(text: str) -> list[tuple[int, int]]:
    """Spans of identity-number-shaped digit runs in free text (for redaction)."""
    return [(m.start(), m.end()) for m in _ANYWHERE.finditer(text)]
