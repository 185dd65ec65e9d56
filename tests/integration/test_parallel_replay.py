"""Replay on several cores (projections/parallel.py): worker processes, each replaying every
projection for a range of episode hashes, build exactly the read models one process builds,
on a SQLite file (part files merged into the scratch file) and on PostgreSQL (part schemas
merged into the scratch schema)."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from projections import PROJECTIONS, shares
from projections.compare import projection_digest
from projections.parallel import replay_parallel
from projections.replay import open_scratch, replay, replayed_position
from routing.audit.reading import StoredFact
from routing.config import Settings, StoreKind
from routing.store import open_episodes
from tests import kafka_support as ks
from tests.integration.test_audit_replay import with_scratch


def test_episode_shares_split_the_episodes_and_keep_billing_facts_everywhere() -> None:
    subjects = [str(uuid.UUID(int=random.Random(7).getrandbits(128) + i)) for i in range(3000)]
    counts = [0, 0, 0]
    for subject in subjects:
        counts[shares.share_of(subject, 3)] += 1
    assert min(counts) > 850, counts  # three ranges of about 1000 each
    month = StoredFact(1, "2025-08:01:03", 1, {"type": "month_closed"}, "")
    episode = StoredFact(2, subjects[0], 1, {"type": "contact_requested"}, "")
    kept = [[shares.keeps(i, 3)(f) for i in range(3)] for f in (month, episode)]
    assert kept[0] == [True, True, True]
    assert sum(kept[1]) == 1
    with pytest.raises(ValueError, match="not in"):
        shares.keeps(3, 3)


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
            settings, names, workers=3, progress=lambda d, t: seen.append((d, t))
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


def test_the_indexed_job_commands_build_what_one_process_builds(
    store: Settings, tmp_path: Path
) -> None:
    """``routing replay-part`` as the pods of deploy/k8s/replay run it (index from
    JOB_COMPLETION_INDEX), then ``routing replay-merge``: the one-process replay's rows."""
    settings = with_scratch(store, tmp_path)
    service = open_episodes(settings)
    ks.load(service, ks.demo_episodes(60, seed=11))
    names = list(PROJECTIONS)
    projections = [PROJECTIONS[n](settings) for n in names]
    serial = open_scratch(settings.model_copy(update={
        "replay_sqlite_path": tmp_path / "serial.db", "replay_schema": settings.replay_schema + "_s"
    }))  # fmt: skip
    replay(service, serial, projections)
    env = ks.routing_env(settings)
    early = subprocess.run(
        [sys.executable, "-m", "routing.cli", "replay-merge", "--of", "2"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert early.returncode == 1
    assert "not finished" in early.stderr
    for index in ("1", "0"):
        pod = subprocess.run(
            [sys.executable, "-m", "routing.cli", "replay-part", "--of", "2"],
            env={**env, "JOB_COMPLETION_INDEX": index}, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        assert pod.returncode == 0, pod.stderr
        assert f"part {index} of 2" in pod.stderr
    merge = subprocess.run(
        [sys.executable, "-m", "routing.cli", "replay-merge", "--of", "2"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert merge.returncode == 0, merge.stderr
    scratch = open_scratch(settings)
    try:
        for p in projections:
            assert projection_digest(scratch, p) == projection_digest(serial, p), p.name
    finally:
        scratch.close()
        serial.close()
        service.close()
