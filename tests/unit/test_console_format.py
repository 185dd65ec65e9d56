"""The console's Swedish notation, worked by hand from Språkrådet's rules (thin no-break
space between groups of three, comma decimal, "kr" after the amount) and Swedish time."""

from __future__ import annotations

import pytest

from api.console import i18n

NN, NB = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("amount", "sv", "en"),
    [
        (0, f"0{NB}kr", f"SEK{NB}0"),
        (999, f"999{NB}kr", f"SEK{NB}999"),
        (1000, f"1{NN}000{NB}kr", f"SEK{NB}1,000"),
        (1234567, f"1{NN}234{NN}567{NB}kr", f"SEK{NB}1,234,567"),
        (-2750, f"\u22122{NN}750{NB}kr", f"SEK{NB}\u22122,750"),
    ],
)
def test_kronor(amount: int, sv: str, en: str) -> None:
    assert i18n.kronor(amount, "sv") == sv
    assert i18n.kronor(amount, "en") == en


def test_share_and_month() -> None:
    assert i18n.share(0.935, "sv") == f"93,5{NB}%"
    assert i18n.share(0.935, "en") == "93.5%"
    assert i18n.month_name("2025-10", "sv") == "oktober 2025"
    assert i18n.month_name("2025-01", "en") == "January 2025"


def test_times_are_swedish() -> None:
    # 2025-03-30 01:30 UTC is 03:30 CEST: the clocks went forward at 02:00 that night.
    assert i18n.local_time("2025-03-30T01:30:00+00:00") == "2025-03-30 03:30"
    assert i18n.local_time("2025-01-15T23:30:00+00:00") == "2025-01-16 00:30"


def test_months_back_across_a_year() -> None:
    assert i18n.previous_months("2025-02", 3) == ["2024-12", "2025-01", "2025-02"]
    assert len(i18n.previous_months("2025-10", 24)) == 24


def test_region_names_not_only_codes() -> None:
    assert i18n.region_name("14") == "Västra Götalandsregionen (14)"
    assert i18n.region_name("01") == "Region Stockholm (01)"


@pytest.mark.parametrize(
    ("query", "accept", "lang"),
    [(None, None, "sv"), ("en", "sv-SE", "en"), (None, "en-GB,en;q=0.8", "en"),
     (None, "de-DE,sv;q=0.5", "sv"), ("fr", "de", "sv")],
)  # fmt: skip
def test_language(query: str | None, accept: str | None, lang: str) -> None:
    assert i18n.pick_lang(query, accept) == lang
