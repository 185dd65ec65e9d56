"""Issue 19: the read models' positions keep the library's tracking semantics.

``ReadModelTracking`` records ``Tracking`` objects in the read-model database as the
library's single-row tracking recorders do: one row a name, the value only increases, an
equal or lower value is refused with the library's ``IntegrityError``; ``has_tracking_id``
and ``wait`` (the library's, built on ``max_tracking_id``) work on it. Generations give a
read model started again from offset 0 names of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from projections import base
from projections.db import SQLiteReadModels
from projections.tracking import ReadModelTracking
from routing.persistence.positions import position, position_name


@pytest.fixture
def tracking(tmp_path: Path) -> Iterator[ReadModelTracking]:
    db = SQLiteReadModels(tmp_path / "read-models.db")
    yield ReadModelTracking(db)
    db.close()


def test_one_row_a_name_whose_value_only_increases(tracking: ReadModelTracking) -> None:
    name = position_name("necessity", "events", 0)
    assert tracking.max_tracking_id(name) is None
    tracking.insert_tracking(Tracking(name, 5))
    tracking.insert_tracking(Tracking(name, 9))
    assert tracking.max_tracking_id(name) == 9
    for refused in (9, 3):
        with pytest.raises(IntegrityError):
            tracking.insert_tracking(Tracking(name, refused))
    assert tracking.max_tracking_id(name) == 9
    assert tracking.has_tracking_id(name, 9)
    assert not tracking.has_tracking_id(name, 10)
    tracking.wait(name, 9, timeout=0.1)
    with tracking.db.transaction() as cur:
        cur.execute("SELECT count(*) FROM projection_tracking")
        assert cur.fetchone()[0] == 1  # type: ignore[index]


def test_a_refusal_rolls_back_the_transaction_it_was_in(tracking: ReadModelTracking) -> None:
    name = position_name("necessity", "events", 1)
    tracking.insert_tracking(Tracking(name, 4))

    def page() -> None:  # a page's effect, then its (unmoved) position
        with tracking.db.transaction() as cur:
            cur.execute("INSERT INTO projection_epochs (projection, epoch) VALUES ('necessity', 1)")
            ReadModelTracking._insert_tracking(cur, Tracking(name, 4))

    with pytest.raises(IntegrityError):
        page()
    with tracking.db.transaction() as cur:
        assert base.read_epoch(cur, "necessity") is None


def test_generations_are_names_of_their_own(tracking: ReadModelTracking) -> None:
    with tracking.db.transaction() as cur:
        cur.ensure_durable()
        base.write_position(cur, "necessity", "events", 0, 1, 40)
        assert base.next_generation(cur, "necessity") == 2
        base.write_epoch(cur, "necessity", 3, 2)  # started again (a new relay epoch)
        assert base.read_position(cur, "necessity", "events", 0, 2) == 0
        base.write_position(cur, "necessity", "events", 0, 2, 7)
        assert base.all_positions(cur, "events") == {"necessity": {0: 7}}
        assert base.next_generation(cur, "necessity") == 3
    assert tracking.max_tracking_id("necessity:events:0@2") == 7
    assert tracking.max_tracking_id(position("necessity", "events", 0, 1, 0).application_name) == 40
