"""Keyed pseudonyms: HMAC-SHA256 of the normalised 12-digit number.

The same person always gets the same pseudonym under one key (episodes of one patient stay
linkable), nobody without the key can go back or test a guess, and the key can be held by the
edge alone. The pseudonymiser in force is carried by a context variable that the edge sets
around parsing, so the event models (used by HTTP, Kafka and replay alike) stay free of
settings: with none set, a raw number is refused, as before this edge existed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from routing.identity.personnummer import (
    InvalidIdentityNumber,
    find_identity_numbers,
    names_a_person,
    parse_identity_number,
)

PREFIX = "psn_"
MASK = "[redacted]"
MIN_KEY_BYTES = 16


class Pseudonymiser:
    def __init__(self, key: bytes, today: Callable[[], date] = date.today) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the pseudonym key must hold at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self._today = today

    def __repr__(self) -> str:
        return "Pseudonymiser(<key>)"

    def pseudonym(self, raw: str) -> str:
        """Validates ``raw`` and returns its pseudonym; raises InvalidIdentityNumber."""
        number = parse_identity_number(raw, self._today())
        mac = hmac.new(self._key, number.digits.encode(), hashlib.sha256).hexdigest()
        return PREFIX + mac[:32]

    def redact(self, text: str) -> str:
        """Free text with every valid identity number replaced by its pseudonym, and one
        with a wrong check digit by ``[redacted]``. Runs that only look like one (an HSA-id's
        digits, no valid date) stay: free text is full of ten-digit numbers."""
        return _replace_valid(text, self._today(), self._pseudonym_or_mask)

    def _pseudonym_or_mask(self, raw: str) -> str:
        try:
            return self.pseudonym(raw)
        except InvalidIdentityNumber:
            return MASK


_current: ContextVar[Pseudonymiser | None] = ContextVar("pseudonymiser", default=None)


def current_pseudonymiser() -> Pseudonymiser | None:
    return _current.get()


@contextmanager
def pseudonymising(pseudonymiser: Pseudonymiser) -> Iterator[None]:
    """Within this block, raw identity numbers in a ``patient`` field are replaced."""
    token = _current.set(pseudonymiser)
    try:
        yield
    finally:
        _current.reset(token)


def redact_identity_numbers(text: str, today: date | None = None) -> str:
    """Masks every identity number (for logs and the access trail, where no key is at
    hand), a mistyped one included (see ``names_a_person``)."""
    return _replace_valid(text, today or date.today(), lambda _: MASK)


def _replace_valid(text: str, today: date, replacement: Callable[[str], str]) -> str:
    spans = find_identity_numbers(text)
    for start, end in reversed(spans):
        if names_a_person(text[start:end], today):
            text = text[:start] + replacement(text[start:end]) + text[end:]
    return text
