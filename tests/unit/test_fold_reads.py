"""Each projection's event set is derived from its folds' ``READS``; this holds both halves.

* Read: every type a fold declares changes its state somewhere in a generated history, and
  no other type ever does (so a fold's ``READS`` is exactly what it folds).
* Enough: each projection handed every fact of every type builds the same decided tables as
  the projection handed only its derived set (its facts table aside, which keeps what it is
  handed): a type outside the set changes nothing it decides.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from projections import PROJECTIONS
from projections.base import Projection
from projections.compare import table_rows
from projections.db import SQLiteReadModels
from projections.folds import ClockFacts
from projections.indicators import KEPT_UNREAD, IndicatorFacts
from projections.replay import replay
from routing.config import Settings, StoreKind
from routing.demo.generator import generate_episodes
from routing.episodes.events import EVENT_TYPES, EpisodeEvent, parse_event
from routing.episodes.service import CareEpisodes
from routing.guarantee.facts import GuaranteeFacts
from routing.liability.billing import MonthClosed
from routing.liability.facts import EpisodeFacts
from routing.liability.months import close_month
from routing.necessity import NecessityFacts
from routing.store import open_episodes

SETTINGS = Settings(store=StoreKind.memory, _env_file=None)  # type: ignore[call-arg]


def _episodes() -> list[list[dict[str, Any]]]:
    """A small history holding every type of fact: the first episodes, and for each type the
    first two episodes that have it."""
    episodes = list(generate_episodes(17, 3000, start=date(2025, 1, 1), end=date(2026, 1, 1)))
    chosen = set(range(40))
    for kind in EVENT_TYPES:
        having = [i for i, ep in enumerate(episodes) if any(b["type"] == kind for b in ep)]
        chosen.update(having[:2])
    return [episodes[i] for i in sorted(chosen)]


EPISODES = _episodes()


def _state(fold: Any) -> Any:
    if isinstance(fold, ClockFacts):
        return list(fold.facts)
    if isinstance(fold, IndicatorFacts):
        return (_state(fold.liability), _state(fold.clocks), dict(fold.requested))
    return copy.deepcopy(fold)


class _Guarantee(GuaranteeFacts):
    """The clocks' own fold, under the projections' ``apply``."""

    def __init__(self, _: str) -> None:
        super().__init__()

    def apply(self, e: EpisodeEvent, recorded_at: datetime | None = None) -> set[str]:
        self.fold(e)
        return set()


FOLDS: dict[str, tuple[Callable[[str], Any], frozenset[str]]] = {
    "liability": (EpisodeFacts, EpisodeFacts.READS),
    "necessity": (NecessityFacts, NecessityFacts.READS),
    "guarantee": (_Guarantee, GuaranteeFacts.READS),
    "clock facts": (ClockFacts, ClockFacts.READS),
    "indicators": (IndicatorFacts, IndicatorFacts.READS),
}


@pytest.mark.parametrize("name", sorted(FOLDS))
def test_a_fold_reads_what_it_declares_and_nothing_else(name: str) -> None:
    new, declared = FOLDS[name]
    assert declared <= set(EVENT_TYPES)
    changed_by: set[str] = set()
    for bodies in EPISODES:
        fold = new(str(bodies[0]["episode_id"]))
        for body in bodies:
            fact: EpisodeEvent = parse_event(body)
            before = _state(fold)
            fold.apply(fact, datetime.now(UTC))
            if _state(fold) != before:
                changed_by.add(fact.type)
                assert fact.type in declared, f"{name} folds {fact.type}, not in READS"
    assert changed_by == declared, f"{name} declares types it never folds"


def _history() -> CareEpisodes:
    service = open_episodes(SETTINGS)
    months: set[tuple[str, str, str]] = set()
    for bodies in EPISODES:
        service.record_batch([parse_event(b) for b in bodies])
        first = bodies[0]
        months.add((first["home_region"]["county"], first["care_region"], first["occurred_at"][:7]))
    for home, care, month in sorted(months)[::7]:  # some months closed: invoice lines
        close_month(
            service,
            MonthClosed(
                event_id=uuid.uuid4(), home_region=home, care_region=care, month=month,
                occurred_at=datetime.now(UTC), source="finance-test",
            ),
        )  # fmt: skip
    return service


@pytest.fixture(scope="module")
def service() -> CareEpisodes:
    return _history()


def _tables(service: CareEpisodes, p: Projection) -> dict[str, list[bytes]]:
    db = SQLiteReadModels(Path(":memory:"), scratch=True)
    replay(service, db, [p], page=97)
    return {t: table_rows(db, t) for t in p.tables}


@pytest.mark.parametrize("name", sorted(PROJECTIONS))
def test_types_outside_the_derived_set_change_nothing(service: CareEpisodes, name: str) -> None:
    derived = PROJECTIONS[name](SETTINGS)
    if name == "indicators":  # what its folds read, not the facts it keeps besides
        derived.interesting = IndicatorFacts.READS  # type: ignore[misc]
    everything = PROJECTIONS[name](SETTINGS)
    barriers = derived.interesting - set(EVENT_TYPES)  # a month's closing
    everything.interesting = frozenset(EVENT_TYPES) | barriers  # type: ignore[misc]
    assert derived.interesting < everything.interesting
    kept, all_kept = _tables(service, derived), _tables(service, everything)
    assert any(kept.values())
    for table in derived.tables:
        if not table.endswith("_facts"):
            assert kept[table] == all_kept[table], (name, table)


def test_the_indicators_keep_every_fact_but_read_only_their_folds() -> None:
    """``indicator_facts`` always held every episode fact (a read model built so must stay
    equal to a replay); the types beyond its folds' are the ones no fold reads."""
    assert PROJECTIONS["indicators"](SETTINGS).interesting == frozenset(EVENT_TYPES)
    unread = frozenset(EVENT_TYPES) - EpisodeFacts.READS - GuaranteeFacts.READS
    assert unread == KEPT_UNREAD
