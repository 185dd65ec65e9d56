"""Issue 19: one home per shared idea. Swedish time, the month pattern and Ds 2023:27's
proposed date are defined once, in routing.kernel.calendar, and every layer (src/routing,
projections, api) takes them from there; a second definition anywhere fails here."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from routing.kernel.calendar import (
    DS_2023_27_PROPOSED_IN_FORCE,
    MONTH,
    STOCKHOLM,
    swedish_date,
    swedish_month,
)

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "src/routing/kernel/calendar.py"
LAYERS = ("src/routing", "projections", "api")
DEFINITIONS = {
    "the Stockholm time zone": re.compile(r"ZoneInfo\(\s*[\"']Europe/Stockholm"),
    "the month pattern": re.compile(r"0\[1-9\]\|1\[0-2\]"),
    "Ds 2023:27's date": re.compile(r"date\(\s*2025\s*,\s*10\s*,\s*1\s*\)"),
    "a Swedish date function": re.compile(r"def swedish_date\b|def swedish_month\b"),
}


ELSEWHERE = {"the month pattern": ["api/period.py"]}
"""api/period.py composes the ``period`` parameter from real calendar days of 1900-2999 (its
own idea: a pattern that admits exactly what the server answers), not the YYYY-MM month."""


@pytest.mark.parametrize("idea", sorted(DEFINITIONS))
def test_defined_once_in_the_kernel(idea: str) -> None:
    pattern = DEFINITIONS[idea]
    homes = [
        str(p.relative_to(ROOT))
        for layer in LAYERS
        for p in sorted((ROOT / layer).rglob("*.py"))
        if pattern.search(p.read_text(encoding="utf-8"))
    ]
    expected = sorted(["src/routing/kernel/calendar.py", *ELSEWHERE.get(idea, [])])
    assert sorted(homes) == expected, f"{idea} defined in {homes}"


def test_swedish_days_and_months_by_hand() -> None:
    """Hand-worked: 23:30 UTC on 31 March 2024 is 01:30 on 1 April in Sweden (CEST, +2);
    22:59 UTC on 31 December is 23:59 the same day (CET, +1)."""
    assert swedish_date(datetime(2024, 3, 31, 23, 30, tzinfo=UTC)) == date(2024, 4, 1)
    assert swedish_month(datetime(2024, 3, 31, 23, 30, tzinfo=UTC)) == "2024-04"
    assert swedish_date(datetime(2024, 12, 31, 22, 59, tzinfo=UTC)) == date(2024, 12, 31)
    assert datetime(2024, 7, 1, 12, tzinfo=STOCKHOLM).utcoffset().total_seconds() == 7200  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="naive"):
        swedish_date(datetime(2024, 7, 1, 12))
    assert date(2025, 10, 1) == DS_2023_27_PROPOSED_IN_FORCE  # Ds 2023:27: 1 October 2025
    months = ("2025-01", "2025-12", "2025-13", "2025-00", "25-01")
    assert [bool(MONTH.match(m)) for m in months] == [True, True, False, False, False]
