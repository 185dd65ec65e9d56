"""Properties of the liability read model over generated national data (hypothesis):
every completed contact has exactly one current decision; a closed month's invoice lines
(debits plus corrections) add up to what its current decisions say is owed; and replaying the
same events into a fresh read model gives the same decisions and lines."""

from __future__ import annotations

import contextlib
import random
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from routing.config import Settings, StoreKind
from routing.demo.generator import generate_episodes
from routing.episodes.service import EventRejected
from routing.reference.regions import load_regions
from tests.liability_support import LiabilityHarness


def _memory(tmp: Path) -> Settings:
    return Settings(store=StoreKind.memory, _env_file=None)  # type: ignore[call-arg]


def _snapshot(h: LiabilityHarness) -> tuple[list[Any], list[Any]]:
    decisions = h.query("SELECT * FROM liability_decisions ORDER BY episode_id, contact_id")
    lines = h.query("SELECT * FROM liability_invoice_lines ORDER BY line_id")
    return decisions, lines


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**31), chunks=st.integers(1, 4), close_share=st.floats(0.2, 1.0))
def test_liability_invariants(tmp_path: Path, seed: int, chunks: int, close_share: float) -> None:
    rng = random.Random(seed)
    episodes = list(generate_episodes(seed, 60, start=date(2025, 8, 1), end=date(2025, 12, 1)))
    h = LiabilityHarness(_memory(tmp_path), tmp_path / str(seed))
    # Each episode is split at a random point across two chunks, so facts (completions,
    # assessments, corrections) keep arriving after months have been closed.
    batches: list[list[dict[str, Any]]] = [[] for _ in range(chunks)]
    for episode in episodes:
        first = rng.randrange(chunks)
        later = rng.randrange(first, chunks)
        cut = rng.randrange(1, len(episode) + 1)
        batches[first] += episode[:cut]
        batches[later] += episode[cut:]
    closed: set[tuple[str, str, str]] = set()
    for batch in batches:
        if batch:
            h.record(batch)
        pairs = h.query("SELECT DISTINCT home_region, care_region, month FROM liability_decisions")
        for pair in sorted(pairs):
            if pair not in closed and rng.random() < close_share:
                h.close(*pair)
                closed.add(pair)

    # Late corrections of the home region on some decided episodes: credit notes (reason 1).
    regions = load_regions()
    decided_episodes = sorted({r[0] for r in h.query("SELECT episode_id FROM liability_decisions")})
    corrections = []
    for episode_id in decided_episodes:
        if rng.random() < 0.3:
            region = regions.by_county(rng.choice(regions.counties))
            corrections.append(
                {
                    "type": "home_region_corrected", "event_id": str(uuid4()),
                    "episode_id": episode_id, "occurred_at": "2025-12-02T10:00:00+01:00",
                    "source": "folkbokforing", "home_region": {
                        "county": region.county, "municipality": region.seat},
                }
            )  # fmt: skip
    try:
        h.record(corrections)
    except EventRejected:  # a correction naming the region already recorded: drop those
        for c in corrections:
            with contextlib.suppress(EventRejected):
                h.record([c])
    credit_lines = h.query(
        "SELECT COUNT(*) FROM liability_invoice_lines WHERE type_of_invoice = 381"
    )
    event(f"credit notes issued: {'yes' if credit_lines[0][0] else 'no'}")

    completed = {
        (str(b["episode_id"]), b["contact_id"])
        for episode in episodes
        for b in episode
        if b["type"] in ("contact_completed", "physical_visit_held")
    }
    decided = h.query("SELECT episode_id, contact_id FROM liability_decisions")
    assert sorted(decided) == sorted(completed)  # exactly one current decision each

    for home, care, month in closed:
        lines = h.query(
            "SELECT COALESCE(SUM(amount), 0) FROM liability_invoice_lines "
            "WHERE home_region = :home AND care_region = :care AND month = :month",
            {"home": home, "care": care, "month": month},
        )[0][0]
        owed = h.query(
            "SELECT COALESCE(SUM(invoiced_amount), 0) FROM liability_decisions "
            "WHERE home_region = :home AND care_region = :care AND month = :month "
            "AND status = 'home_region_liable'",
            {"home": home, "care": care, "month": month},
        )[0][0]
        assert int(lines) == int(owed), (home, care, month)

    replay = LiabilityHarness(_memory(tmp_path), tmp_path / f"{seed}-replay")
    replay.service = h.service
    replay.relay = type(h.relay)(h.service, "127.0.0.1:1", "t")
    replay.pump()
    assert _snapshot(replay) == _snapshot(h)
