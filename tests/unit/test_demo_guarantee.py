"""The demo data exercises the care guarantee: every kind of clock and outcome, each exclusion
the law allows on the 90-day clocks, at-risk clocks, asked-again clocks and specialties
(child and adolescent psychiatry included). What a clock *should* be is tested elsewhere from
the sources; here only that the demo reaches each case, and is accepted by the journey."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest

from routing.demo.generator import generate_episodes
from routing.episodes.events import parse_event
from routing.guarantee import Clock, episode_clocks

START, END = date(2025, 1, 1), date(2026, 1, 1)


@pytest.fixture(scope="module")
def clocks() -> list[Clock]:
    out: list[Clock] = []
    for episode in generate_episodes(17, 4000, start=START, end=END):
        out += episode_clocks(parse_event(e) for e in episode)
    return out


def _count(clocks: list[Clock], **want: Any) -> int:
    return sum(1 for c in clocks if all(getattr(c, k) == v for k, v in want.items()))


@pytest.mark.parametrize("kind", ["contact", "assessment", "specialist_visit", "treatment"])
@pytest.mark.parametrize("status", ["met", "breached", "open", "excluded"])
def test_every_clock_kind_meets_every_outcome(clocks: list[Clock], kind: str, status: str) -> None:
    assert sum(1 for c in clocks if c.kind == kind and c.status == status) > 0


@pytest.mark.parametrize("reason", ["patient_declined", "other_region_choice"])
def test_the_90_day_exclusions_occur_with_their_dates(clocks: list[Clock], reason: str) -> None:
    found = [c for c in clocks if c.kind.value != "contact" and c.reason == reason
             and c.kind.value in ("specialist_visit", "treatment")]  # fmt: skip
    assert found
    assert all(x.on >= c.start_at.date() for c in found for x in c.exclusions)


def test_medically_caused_waiting_moves_deadlines(clocks: list[Clock]) -> None:
    assert sum(1 for c in clocks if c.paused_days > 0) > 5


def test_refusals_that_do_not_count_and_clocks_asked_again(clocks: list[Clock]) -> None:
    assert any(not x.counts for c in clocks for x in c.exclusions)
    assert any(c.subject_id.endswith("#2") for c in clocks)


def test_at_risk_clocks_and_specialties(clocks: list[Clock]) -> None:
    beyond = [c for c in clocks if c.booked_for is not None and c.booked_for > c.deadline]
    assert len(beyond) > 10
    assert any(c.at_risk(c.booked_on) for c in beyond if c.booked_on and c.status.value == "open")
    specialties = Counter(c.specialty for c in clocks if c.specialty)
    assert specialties["child_adolescent_psychiatry"] > 5
    assert len(specialties) >= 8
    assert _count(clocks, target_days=30) > 5
