"""Swedish personal identity numbers (personnummer, SFS 1991:481 / SKV 704) and coordination
numbers (samordningsnummer: the day of birth plus 60).

Accepted forms: ``YYMMDD-NNNC``, ``YYMMDD+NNNC`` (100 years or older), ``YYMMDDNNNC``,
``YYYYMMDDNNNC`` and ``YYYYMMDD-NNNC``. A 10-digit form has its century resolved against a
reference day (the separator says whether the person has turned 100), so that every form of
the same number normalises to the same 12 digits, and so to the same pseudonym. Digits of
any script (fullwidth U+FF10-FF19, Arabic-Indic U+0660-0669...) are read as the ASCII digits they
stand for first: one person, one pseudonym, however a keyboard spelled the number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_SHAPE = re.compile(
    r"^(?P<century>[0-9]{2})?(?P<yymmdd>[0-9]{6})(?P<sep>[-+]?)(?P<serial>[0-9]{3})(?P<check>[0-9])$"
)
_ANYWHERE = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]?\d{4}(?!\d)")
"""A digit run of that shape, in any script, not part of a longer run. It may be glued to
letters (``c191212121212`` holds a number as much as ``19121212-1212`` does); what tells a
number from an HSA-id's or an organisation's digits is the date (their "month" is 20 or more)."""
_ANYWHERE_ASCII = re.compile(r"(?<![0-9])(?:[0-9]{2})?[0-9]{6}[-+]?[0-9]{4}(?![0-9])")
"""The same for ASCII text (a plain character class is faster than Unicode ``\\d``)."""
_STANDALONE = re.compile(r"(?<![^\W_])(?:\d{2})?\d{6}[-+]?\d{4}(?![^\W_])")
"""The same, not glued to letters either: for a value that may be a hex pseudonym (``psn_`` +
hex digits holds ten-digit runs with a valid date by chance)."""


class InvalidIdentityNumber(ValueError):  # noqa: N818
    """Shaped like an identity number but not a valid one. The message never repeats it."""

    def __init__(self, message: str, reason: str = "shape") -> None:
        super().__init__(message)
        self.reason = reason


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


def ascii_digits(value: str) -> str:
    """``value`` with every decimal digit of another script replaced by its ASCII digit."""
    if value.isascii():
        return value
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in value)


def has_foreign_digits(value: str) -> bool:
    """Whether ``value`` holds a decimal digit that is not ASCII 0-9."""
    return not value.isascii() and any(c.isdecimal() and not c.isascii() for c in value)


def looks_like_identity_number(value: str) -> bool:
    return _SHAPE.match(ascii_digits(value)) is not None


def luhn_check_digit(nine: str) -> int:
    """The Luhn check digit over YYMMDDNNN (weights 2,1,2,1,...)."""
    total = 0
    for i, ch in enumerate(nine):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return (10 - total % 10) % 10


def parse_identity_number(value: str, today: date) -> IdentityNumber:
    """Validates format, date (with +60 for samordningsnummer) and check digit."""
    m = _SHAPE.match(ascii_digits(value))
    if m is None:
        raise InvalidIdentityNumber("is not shaped like a personnummer or samordningsnummer")
    yymmdd, serial, check = m["yymmdd"], m["serial"], int(m["check"])
    if luhn_check_digit(yymmdd + serial) != check:
        raise InvalidIdentityNumber(
            "personnummer or samordningsnummer has a wrong check digit", "check digit"
        )
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


_CENTURIES = ("18", "19", "20")
"""The centuries a living person's twelve-digit number can name."""


def names_a_person(candidate: str, today: date) -> bool:
    """Whether an identity-number-shaped run is one: its date of birth is valid. A wrong
    check digit does not make it safe (a mistyped number still points at a person, or at a
    neighbour of one), so it counts too; runs with no valid date (an HSA-id's digits, an
    organisation number) do not."""
    whole = ascii_digits(candidate).replace("-", "").replace("+", "")
    if len(whole) == 12 and whole[:2] not in _CENTURIES:
        return False  # 1502-01-24 or 3506-06-05 is no one's birth (hex ids hold such runs)
    digits = ascii_digits(candidate)[-11:].replace("-", "").replace("+", "")
    month, day = int(digits[-8:-6]), int(digits[-6:-4])
    if not (1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)):
        return False  # the common case (HSA-ids: month 20 or more), without an exception
    try:
        parse_identity_number(candidate, today)
    except InvalidIdentityNumber as refused:
        return refused.reason == "check digit"
    return True


def holds_identity_number(text: str, today: date, *, glued: bool = True) -> bool:
    """Whether ``text`` holds a personnummer or samordningsnummer anywhere in it; with
    ``glued=False`` only one standing apart from letters."""
    if not glued:
        runs = _STANDALONE.finditer(text)
    else:
        runs = (_ANYWHERE_ASCII if text.isascii() else _ANYWHERE).finditer(text)
    return any(names_a_person(m.group(), today) for m in runs)
