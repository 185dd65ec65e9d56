"""The eventsourcing library's own append rate: the ceiling the HTTP path is measured against.

A bare ``Application`` on the same persistence settings as the service (``persistence_env``),
in its own SQLite file or PostgreSQL schema, saves a new aggregate per transaction whose
creation event carries a stored contact_requested fact (~600 bytes of JSON). Single-threaded,
one ``app.save`` per transaction, for a fixed wall-clock duration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from benchmarks.factory import contact_requested_payload
from routing.config import Settings
from routing.store import ensure_postgres_schema


class Fact(Aggregate):
    """Stands in for a care episode: one creation event holding a fact and its fingerprint."""

    @event("Opened")
    def __init__(self, fact: dict[str, Any], fingerprint: str) -> None:
        self.fact = fact
        self.fingerprint = fingerprint


class Receipt(Aggregate):
    """Stands in for the service's EventReceipt (the second stored event of each save)."""

    @event("Claimed")
    def __init__(self, event_id: str, episode_id: str, fingerprint: str) -> None:
        self.event_id, self.episode_id, self.fingerprint = event_id, episode_id, fingerprint


class BaselineApp(Application[Any]):
    name = "IngestBaseline"


@dataclass(frozen=True)
class BaselineResult:
    saves: int
    seconds: float
    events_per_save: int
    stored_bytes: int

    @property
    def rate(self) -> float:
        return self.saves / self.seconds


def measure(settings: Settings, seconds: float, *, with_receipt: bool = False) -> BaselineResult:
    """Saves/s of ``app.save(aggregate)`` (plus a receipt aggregate if ``with_receipt``)."""
    ensure_postgres_schema(settings)
    app = BaselineApp(env=settings.persistence_env())
    try:
        payload = contact_requested_payload()
        fact, fp = payload["fact"], payload["fingerprint"]
        probe = Fact(fact=fact, fingerprint=fp)
        stored = app.mapper.to_stored_event(probe.collect_events()[0])
        for _ in range(50):  # warm up: tables, connection, caches
            app.save(Fact(fact=fact, fingerprint=fp))
        saves = 0
        deadline = time.perf_counter() + seconds
        start = time.perf_counter()
        while True:
            if with_receipt:
                app.save(
                    Fact(fact=fact, fingerprint=fp),
                    Receipt(
                        event_id=fact["event_id"], episode_id=fact["episode_id"], fingerprint=fp
                    ),
                )
            else:
                app.save(Fact(fact=fact, fingerprint=fp))
            saves += 1
            if saves % 16 == 0 and time.perf_counter() >= deadline:
                break
        elapsed = time.perf_counter() - start
    finally:
        app.close()
    return BaselineResult(saves, elapsed, 2 if with_receipt else 1, len(stored.state))
