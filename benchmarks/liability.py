"""Liability benchmark: decisions/s of the pure function, and events/s of the projection.

    python benchmarks/liability.py [--episodes 4000] [--store sqlite|postgres|all]

1. ``decide`` alone, on every completed contact of the generated data (facts folded first).
2. The liability projection (ProjectionWorker + Liability) applying the same facts, encoded
   exactly as the relay publishes them, in pages of 2,000 messages, into a fresh read-model
   database: SQLite file, PostgreSQL schema. Kafka is left out on purpose: consuming is
   measured by benchmarks/kafka.py; this is whether the read model keeps up (target >= 2,000
   events/s on each database).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from projections.db import open_read_models
from projections.liability import Liability
from projections.runner import ProjectionWorker
from routing.config import Settings, StoreKind
from routing.demo.generator import generate_episodes
from routing.episodes.events import parse_event
from routing.liability.engine import decide
from routing.liability.facts import EpisodeFacts
from routing.messaging.relay import Relay
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions
from routing.store import open_episodes

DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET = 2000


@dataclass
class _Record:
    offset: int
    value: bytes
    key: bytes = b""


def pure_function(episodes: list[list[dict[str, object]]]) -> tuple[int, float]:
    policy, catalogue, regions = (
        Settings.model_construct().rulebook_policy(),
        load_catalogue(),
        (load_regions()),
    )
    contacts = []
    for bodies in episodes:
        facts = EpisodeFacts(str(bodies[0]["episode_id"]))
        for b in bodies:
            facts.apply(parse_event(b))
        contacts += [c for c in facts.contacts.values() if c.status == "completed"]
    started = time.perf_counter()
    for c in contacts:
        decide(c, policy, catalogue, regions)
    return len(contacts), time.perf_counter() - started


def encoded_messages(episodes: list[list[dict[str, object]]], tmp: Path) -> list[bytes]:
    """The facts as the relay would publish them (CloudEvent bytes, store order)."""
    settings = Settings(store=StoreKind.sqlite, sqlite_path=tmp / "store.db", _env_file=None)  # type: ignore[call-arg]
    service = open_episodes(settings)
    for i in range(0, len(episodes), 200):
        service.record_batch([parse_event(b) for ep in episodes[i : i + 200] for b in ep])
    relay, out = Relay(service, "127.0.0.1:1", "t"), []
    while page := relay._read_page():
        out += [m.value for m in page]
        relay.progress = relay.progress.__class__(
            relay.progress.topic, page[-1].position, relay.progress.epoch, None, None
        )
    service.close()
    return out


def projection(settings: Settings, messages: list[bytes]) -> float:
    db = open_read_models(settings)
    worker = ProjectionWorker(
        db, Liability(settings.rulebook_policy(), load_catalogue(), load_regions()), "t"
    )
    started = time.perf_counter()
    for i in range(0, len(messages), 2000):
        page = [_Record(i + j, m) for j, m in enumerate(messages[i : i + 2000])]
        worker.apply(0, page)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4000)
    parser.add_argument("--store", choices=["sqlite", "postgres", "all"], default="all")
    args = parser.parse_args()
    episodes = list(
        generate_episodes(7, args.episodes, start=date(2025, 6, 1), end=date(2026, 3, 1))
    )
    n_contacts, seconds = pure_function(episodes)
    rows = [
        ("pure decide()", f"{n_contacts / seconds:,.0f} decisions/s", f"{n_contacts} contacts", "")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        messages = encoded_messages(episodes, Path(tmp))
        stores = ["sqlite", "postgres"] if args.store == "all" else [args.store]
        for store in stores:
            schema = f"bench_liab_{uuid.uuid4().hex[:8]}"
            settings = Settings(  # type: ignore[call-arg]
                store=StoreKind(store), projections_sqlite_path=Path(tmp) / "p.db",
                postgres_dsn=DSN, projections_schema=schema, _env_file=None,
            )  # fmt: skip
            try:
                elapsed = projection(settings, messages)
            finally:
                if store == "postgres":
                    with psycopg.connect(DSN, autocommit=True) as conn:
                        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            rate = len(messages) / elapsed
            verdict = "PASS" if rate >= TARGET else "BELOW"
            rows.append((f"projection on {store}", f"{rate:,.0f} events/s",
                         f"{len(messages)} events", f">= {TARGET:,} {verdict}"))  # fmt: skip
    print(f"\n{'measure':<24}{'figure':>22}  {'sample':>16}  target")
    for name, figure, sample, target in rows:
        print(f"{name:<24}{figure:>22}  {sample:>16}  {target}")


if __name__ == "__main__":
    main()
