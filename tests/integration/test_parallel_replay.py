"""Replay on several cores (projections/parallel.py): worker processes, each replaying a
group of projections, build exactly the read models one process builds, on a SQLite file
(part files copied into the scratch file) and on PostgreSQL (one scratch schema)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from projections import PROJECTIONS
from projections.compare import projection_digest
from projections.parallel import groups, replay_parallel
from projections.replay import open_scratch, replay, replayed_position
from routing.config import Settings, StoreKind
from routing.store import open_episodes
from tests import kafka_support as ks
from tests.integration.test_audit_replay import with_scratch


def test_groups_balance_the_costliest_projections() -> None:
    names = list(PROJECTIONS)
    two = groups(names, 2)
    assert sorted(n for g in two for n in g) == sorted(names)
    assert all("liability" not in g or "care_guarantee" not in g for g in two)
    assert sorted(map(tuple, groups(names, 9))) == sorted((n,) for n in names)
    assert groups(["liability"], 4) == [["liability"]]


def test_parallel_replay_builds_what_one_process_builds(store: Settings, tmp_path: Path) -> None:
    settings = with_scratch(store, tmp_path)
    service = open_episodes(settings)
    ks.load(service, ks.demo_episodes(150, seed=53))
    names = list(PROJECTIONS)
    serial_settings = settings.model_copy(
        update={"replay_sqlite_path": tmp_path / "serial.db",
                "replay_schema": settings.replay_schema + "_s"}
    )  # fmt: skip
    serial = open_scratch(serial_settings)
    projections = [PROJECTIONS[n](settings) for n in names]
    try:
        expected = replay(service, serial, projections)
        seen: list[tuple[int, int]] = []
        scratch, result = replay_parallel(
            settings, names, workers=2, progress=lambda d, t: seen.append((d, t))
        )
        try:
            assert result.facts == expected.facts
            assert result.position == expected.position
            last = service.recorder.max_notification_id()
            assert seen[-1] == (last, last)
            assert [d for d, _ in seen] == sorted(d for d, _ in seen)
            for p in projections:
                assert projection_digest(scratch, p) == projection_digest(serial, p), p.name
                assert replayed_position(scratch, p.name) == expected.position
        finally:
            scratch.close()
    finally:
        serial.close()
        service.close()
    if settings.store is StoreKind.sqlite:
        leftovers = [p.name for p in tmp_path.iterdir() if ".part" in p.name]
        assert leftovers == [], "part files are removed"
        with sqlite3.connect(settings.replay_sqlite_path) as conn:
            indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                                  "WHERE type = 'index'")}  # fmt: skip
        assert "care_guarantee_clocks_region" in indexes, "indexes come along with the tables"


def test_a_failing_worker_fails_the_replay_with_its_traceback(
    store: Settings, tmp_path: Path
) -> None:
    settings = with_scratch(store, tmp_path)
    service = open_episodes(settings)
    ks.load(service, ks.demo_episodes(20, seed=5))
    service.close()
    with pytest.raises(RuntimeError, match=r"(?s)replay worker .* failed.*KeyError"):
        replay_parallel(settings, ["liability", "no_such_projection"], workers=2)
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []


def test_an_in_memory_store_is_refused() -> None:
    with pytest.raises(ValueError, match="in-memory"):
        replay_parallel(Settings(store=StoreKind.memory), list(PROJECTIONS), workers=2)
