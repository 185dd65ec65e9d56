"""The ``period`` parameter (api/period.py): its pattern admits exactly the real days of
1900-2999, checked against Python's calendar over every candidate string, and a month or a
range names the days a person would count by hand."""

from __future__ import annotations

import re
from datetime import date

import pytest

from api.period import DAY_PATTERN, PERIOD_PATTERN, Days, parse_period


def _real(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return 1900 <= y <= 2999


def test_the_day_pattern_admits_exactly_the_real_days() -> None:
    day = re.compile(DAY_PATTERN)
    wrong = [
        f"{y:04d}-{m:02d}-{d:02d}"
        for y in (*range(1890, 1910), *range(1996, 2105), *range(2395, 2405), *range(2990, 3010))
        for m in range(0, 14)
        for d in range(0, 33)
        if bool(day.fullmatch(f"{y:04d}-{m:02d}-{d:02d}")) != _real(y, m, d)
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026-03", date(2026, 3, 1), date(2026, 3, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),  # a leap year
        ("2100-02", date(2100, 2, 1), date(2100, 2, 28)),  # a century, no leap year
        ("2000-02-29..2000-02-29", date(2000, 2, 29), date(2000, 2, 29)),  # 400: a leap year
        ("2026-01-01..2026-12-31", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-03-31..2026-03-01", date(2026, 3, 31), date(2026, 3, 1)),
    ],
)
def test_a_period_names_its_days(text: str, first: date, last: date) -> None:
    assert parse_period(text) == Days(first, last)


def test_a_range_given_backwards_is_empty() -> None:
    assert parse_period("2026-03-31..2026-03-01").empty
    assert not parse_period("2026-03-01..2026-03-01").empty


@pytest.mark.parametrize(
    "text",
    ["2026-13", "1899-12", "3000-01", "2026-3", "2026-03-01", "2026-03-01..", "..2026-03-01",
     "2026-02-29..2026-03-01", "1900-02-29..1900-03-01", "2026-03-01...2026-03-02",
     "2026-03\n", "٢٠٢٦-03", "2026-03-01..2026-04"],
)  # fmt: skip
def test_what_the_pattern_refuses_the_parser_refuses(text: str) -> None:
    assert re.fullmatch(PERIOD_PATTERN, text) is None
    with pytest.raises(ValueError, match="not a period"):
        parse_period(text)
