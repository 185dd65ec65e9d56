"""The auditor's command line on a SQLite file: national demo data by event count (seeded,
reproducible), replay with progress, simulation and history as JSON, clear errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from routing.audit.reading import FactReader
from routing.config import Settings, StoreKind
from routing.store import open_episodes
from tests import kafka_support as ks
from tests.auth_support import TEST_KEYS


def routing(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routing.cli", *args], env=ks.routing_env(settings), cwd=cwd,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _settings(tmp_path: Path, name: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        store=StoreKind.sqlite, sqlite_path=tmp_path / f"{name}.db",
        projections_sqlite_path=tmp_path / f"{name}-live.db",
        replay_sqlite_path=tmp_path / f"{name}-replay.db", _env_file=None, **TEST_KEYS,
    )  # fmt: skip


def test_demo_load_by_events_is_reproducible(tmp_path: Path) -> None:
    facts = []
    for name in ("a", "b"):
        settings = _settings(tmp_path, name)
        done = routing(settings, tmp_path, "demo", "load", "--events", "600", "--seed", "3",
                       "--end", "2025-06-30")  # fmt: skip
        assert done.returncode == 0, done.stderr
        service = open_episodes(settings)
        facts.append([(s.subject, s.fact) for s in FactReader(service).facts()])
        service.close()
    assert facts[0] == facts[1]
    assert len(facts[0]) >= 600


def test_replay_simulate_and_history_from_the_command_line(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "s")
    load = routing(settings, tmp_path, "demo", "load", "--events", "800", "--end", "2025-12-31")
    assert load.returncode == 0, load.stderr

    replay = routing(settings, tmp_path, "replay", "episode_summary")
    assert replay.returncode == 0, replay.stderr
    assert "replayed" in replay.stderr
    assert settings.replay_sqlite_path.exists()
    assert not settings.projections_sqlite_path.exists(), "live read models untouched"
    zero = routing(settings, tmp_path, "replay", "--workers", "0")
    assert zero.returncode == 2
    assert "--workers" in zero.stderr
    every = routing(settings, tmp_path, "replay", "--workers", "2")
    assert every.returncode == 0, every.stderr
    with sqlite3.connect(settings.replay_sqlite_path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        positions = dict(conn.execute("SELECT projection, store_position FROM replay_positions"))
    assert {"episode_summary", "liability_decisions", "care_guarantee_clocks"} <= tables
    assert set(positions) == {
        "episode_summary",
        "liability",
        "necessity",
        "care_guarantee",
        "indicators",
    }
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []

    # the API's vocabulary (POST /audit/simulations: start, end); --from/--to still accepted
    sim = routing(settings, tmp_path, "simulate", "--start", "2025-01-01", "--end", "2025-12-31",
                  "--effective", "2025-01-01", "--json")  # fmt: skip
    assert sim.returncode == 0, sim.stderr
    body = json.loads(sim.stdout)
    assert (body["start"], body["end"]) == ("2025-01-01", "2025-12-31")
    assert body["alternative"] == "ds-2023-27 from 2025-01-01"
    assert body["regions"]
    assert body["facts"] >= 800

    service = open_episodes(settings)
    episode = next(FactReader(service).facts()).subject
    service.close()
    history = routing(settings, tmp_path, "history", episode, "--known-at",
                      "2030-01-01T00:00:00+00:00")  # fmt: skip
    assert history.returncode == 0, history.stderr
    assert json.loads(history.stdout)["facts"]

    bad = routing(settings, tmp_path, "simulate", "--from", "2025-01-01", "--to", "2025-12-31",
                  "--home-region", "99")  # fmt: skip
    assert bad.returncode == 2
    assert "unknown home region(s) 99" in bad.stderr
    unknown = routing(settings, tmp_path, "replay", "nope")
    assert unknown.returncode == 2
    assert "unknown projection nope" in unknown.stderr
