"""The page fold equals the fact-by-fact fold (hypothesis, over generated histories).

A replay hands each projection a whole page (``Projection.apply_page``: facts grouped by
episode, each changed contact decided once); the live runners apply one fact at a time
(``Projection.apply``). Both must leave every table of every projection identical, whatever
the page size (an episode cut across pages, folds read back from the facts table), months
closed between facts (invoice lines that follow every decision) and late corrections.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from projections import PROJECTIONS
from projections.base import Projection
from projections.compare import projection_digest, table_rows
from projections.db import Cursor, SQLiteReadModels
from projections.replay import replay
from routing.config import Settings, StoreKind
from routing.demo.generator import generate_episodes
from routing.episodes.events import parse_event
from routing.episodes.service import CareEpisodes, EventRejected
from routing.liability.billing import MonthClosed
from routing.liability.months import close_month
from routing.messaging.envelope import CloudEvent
from routing.reference.regions import load_regions
from routing.store import open_episodes

SETTINGS = Settings(store=StoreKind.memory, _env_file=None)  # type: ignore[call-arg]


def fact_by_fact(p: Projection) -> Projection:
    """``p`` applying a page one fact at a time, as the live runner does."""

    def one_by_one(cur: Cursor, events: list[CloudEvent], suffix: str = "") -> None:
        Projection.apply_page(p, cur, events, suffix)

    p.apply_page = one_by_one  # type: ignore[method-assign]
    return p


def _history(service: CareEpisodes, seed: int, chunks: int, close_share: float) -> None:
    """Generated episodes recorded in chunks (each episode cut across two), months closed
    between chunks, then late home-region corrections: facts after closings."""
    rng = random.Random(seed)
    episodes = list(generate_episodes(seed, 40, start=date(2025, 8, 1), end=date(2025, 12, 1)))
    batches: list[list[dict[str, Any]]] = [[] for _ in range(chunks)]
    for episode in episodes:
        first = rng.randrange(chunks)
        cut = rng.randrange(1, len(episode) + 1)
        batches[first] += episode[:cut]
        batches[rng.randrange(first, chunks)] += episode[cut:]
    triples = sorted(
        {
            (b["home_region"]["county"], b["care_region"], b["occurred_at"][:7])
            for episode in episodes
            for b in episode
            if b["type"] == "contact_requested"
        }
    )
    for batch in batches:
        if batch:
            service.record_batch([parse_event(b) for b in batch])
        for home, care, month in list(triples):
            if rng.random() < close_share / chunks:
                triples.remove((home, care, month))
                close_month(
                    service,
                    MonthClosed(
                        event_id=uuid.uuid4(), home_region=home, care_region=care, month=month,
                        occurred_at=datetime.now(UTC), source="finance-test",
                    )
                )  # fmt: skip
    _correct(service, rng, episodes)


def _correct(service: CareEpisodes, rng: random.Random, episodes: list[Any]) -> None:
    regions = load_regions()
    for episode in episodes:
        if rng.random() < 0.3:
            region = regions.by_county(rng.choice(regions.counties))
            body = {
                "type": "home_region_corrected", "event_id": str(uuid.uuid4()),
                "episode_id": str(episode[0]["episode_id"]),
                "occurred_at": "2025-12-02T10:00:00+01:00", "source": "folkbokforing",
                "home_region": {"county": region.county, "municipality": region.seat},
            }  # fmt: skip
            with contextlib.suppress(EventRejected):  # the region already recorded
                service.record_batch([parse_event(body)])


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**31),
    chunks=st.integers(1, 4),
    close_share=st.floats(0.0, 1.0),
    page=st.integers(1, 400),
)
def test_page_fold_equals_fact_by_fact_fold(
    tmp_path: Path, seed: int, chunks: int, close_share: float, page: int
) -> None:
    service = open_episodes(SETTINGS)
    _history(service, seed, chunks, close_share)
    paged = SQLiteReadModels(Path(":memory:"), scratch=True)
    single = SQLiteReadModels(Path(":memory:"), scratch=True)
    by_page = [make(SETTINGS) for make in PROJECTIONS.values()]
    by_fact = [fact_by_fact(make(SETTINGS)) for make in PROJECTIONS.values()]
    replay(service, paged, by_page, page=page)
    replay(service, single, by_fact, page=page)
    for p, q in zip(by_page, by_fact, strict=True):
        assert projection_digest(paged, p) == projection_digest(single, q), p.name
    decisions = table_rows(paged, "liability_decisions")
    lines = table_rows(paged, "liability_invoice_lines")
    assert decisions, "the history decides contacts"
    event(f"invoice lines: {'yes' if lines else 'no'}")
