"""The generator at national scale: by event count, reproducible, streaming."""

from __future__ import annotations

import inspect
from datetime import date
from itertools import islice

import pytest

from routing.demo.generator import generate_episodes, generate_events

START, END = date(2025, 1, 1), date(2026, 1, 1)


def test_generates_at_least_the_events_asked_for_and_stops() -> None:
    episodes = list(generate_events(9, 5000, start=START, end=END))
    total = sum(len(e) for e in episodes)
    assert 5000 <= total < 5000 + max(len(e) for e in episodes)
    assert sum(len(e) for e in episodes[:-1]) < 5000


def test_same_seed_same_events_and_a_prefix_of_generate_episodes() -> None:
    a = list(generate_events(9, 3000, start=START, end=END))
    assert a == list(generate_events(9, 3000, start=START, end=END))
    assert a == list(generate_episodes(9, len(a), start=START, end=END))
    assert a != list(generate_events(10, 3000, start=START, end=END))


def test_a_million_events_stream_lazily() -> None:
    """A generator: asking for a million events yields the first episodes at once."""
    stream = generate_events(2026, 1_000_000, start=START, end=END)
    assert inspect.isgenerator(stream)
    first = list(islice(stream, 10))
    assert first == list(generate_episodes(2026, 10, start=START, end=END))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="negative"):
        list(generate_events(1, -1, start=START, end=END))
    with pytest.raises(ValueError, match="after start"):
        list(generate_events(1, 10, start=END, end=START))
