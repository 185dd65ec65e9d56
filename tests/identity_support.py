"""Synthetic, valid Swedish identity numbers for tests (made up here, never real people's),
and the scan that looks for any of them in bytes."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from routing.identity.personnummer import luhn_check_digit


@dataclass(frozen=True)
class TestNumber:
    twelve: str  # YYYYMMDDNNNC

    __test__ = False  # not a pytest class

    @property
    def ten(self) -> str:
        return self.twelve[2:]

    def spellings(self) -> list[str]:
        """Every spelling a leak could take (the 10-digit forms cover the 12-digit ones)."""
        return [self.ten, f"{self.ten[:6]}-{self.ten[6:]}", f"{self.ten[:6]}+{self.ten[6:]}"]

    def needles(self) -> list[bytes]:
        return [s.encode() for s in self.spellings()]


def identity_numbers(count: int, seed: int = 6) -> list[TestNumber]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 365 * 90))
        day = born.day + (60 if i % 5 == 4 else 0)  # every fifth a samordningsnummer
        nine = f"{born:%y%m}{day:02d}{rng.randrange(0, 1000):03d}"
        out.append(TestNumber(f"{born.year}{nine[2:]}{luhn_check_digit(nine)}"))
    return out


def spelled(number: TestNumber, i: int) -> str:
    """The forms front-ends send: 12 digits with or without dash, 10 digits with dash."""
    return [
        f"{number.twelve[:8]}-{number.twelve[8:]}",
        number.twelve,
        f"{number.ten[:6]}-{number.ten[6:]}",
    ][i % 3]


def leaks(blobs: Iterable[tuple[str, bytes]], numbers: Iterable[TestNumber]) -> list[str]:
    """Where any spelling of any number occurs: ['where: spelling', ...]."""
    needles = [(n, s) for n in numbers for s in n.needles()]
    found = []
    for where, blob in blobs:
        for _, needle in needles:
            if needle in blob:
                found.append(f"{where}: {needle.decode()}")
    return found
