"""Issue 19: a live runner's page costs few statements beyond the read model's own.

At a low rate a page holds one or two facts, so the per-page bookkeeping (the partition's
position, generation, relay epoch and store-position mark, read and written in the page's
transaction) is most of a runner's work. Read and written one Core statement at a time (ten
statements a page) it made the runner 2.6 times as costly per event as before the SQL
toolkit change (benchmarks/kafka.py end to end at 300 events/s: 45 % of a core against
17 %). The page start is now read in two statements and only marks that moved are written.
This test counts the statements SQLite sees, so it holds without timing anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from projections.db import SQLiteReadModels
from projections.episode_summary import EpisodeSummary
from projections.worker import ProjectionWorker
from routing.messaging.envelope import encode
from tests import support as s
from tests.projection_harness import Record

OWN_TABLES = "episode_summary_"  # its tables; its name alone is in the bookkeeping
BOOKKEEPING_PER_PAGE = 6  # BEGIN, page start, position, position write, mark write, COMMIT


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[ProjectionWorker, list[str]]]:
    db = SQLiteReadModels(tmp_path / "read-models.db")
    worker = ProjectionWorker(db, EpisodeSummary(), "events")
    statements: list[str] = []
    db._conn.set_trace_callback(statements.append)
    yield worker, statements
    db.close()


def message(fact: dict[str, Any], position: int) -> bytes:
    stored = fact | {"schema_version": 1}
    return encode(
        stored,
        subject=stored["episode_id"],
        recorded_at=s.T0,
        position=position,
        episode_version=position,
        epoch=1,
    )


def bookkeeping(statements: list[str]) -> list[str]:
    return [q for q in statements if OWN_TABLES not in q]


def test_a_page_of_facts_the_read_model_ignores(
    traced: tuple[ProjectionWorker, list[str]],
) -> None:
    worker, statements = traced
    episode = s.contact_requested()["episode_id"]
    worker.apply(0, [Record(0, message(s.contact_requested(episode), 1))])
    statements.clear()
    applied = worker.apply(0, [Record(1, message(s.triage_completed(episode), 2))])
    assert applied.next_offset == 2
    assert len(bookkeeping(statements)) <= BOOKKEEPING_PER_PAGE - 1, statements  # no mark


def test_a_page_of_facts_the_read_model_applies(
    traced: tuple[ProjectionWorker, list[str]],
) -> None:
    worker, statements = traced
    first, second = s.contact_requested(), s.contact_requested()
    worker.apply(0, [Record(0, message(first, 1))])
    statements.clear()
    applied = worker.apply(0, [Record(1, message(second, 2))])
    assert applied.next_offset == 2
    assert worker.page_applied == 1
    assert len(bookkeeping(statements)) <= BOOKKEEPING_PER_PAGE, statements
    assert worker.position(0) == 2
