"""A store, its relay's encoding and the liability projection, wired without a broker.

Facts go into the real event store; ``pump`` encodes every new one exactly as the relay does
(``Relay._read_page``) and feeds it to the projection worker as consecutive offsets of one
partition, so the projection sees what it would see on Kafka.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from projections.db import ReadModelDB, open_read_models
from projections.liability import Liability
from projections.runner import ProjectionWorker
from routing.config import Settings
from routing.episodes.events import parse_event
from routing.liability.billing import MonthClosed
from routing.messaging.relay import Relay
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions
from routing.store import open_episodes


@dataclass
class _Record:
    offset: int
    value: bytes
    key: bytes = b""
    headers: tuple[Any, ...] = ()


class LiabilityHarness:
    def __init__(self, settings: Settings, tmp: Any) -> None:
        self.settings = settings.model_copy(
            update={
                "projections_sqlite_path": tmp / "projections.db",
                "projections_schema": f"p_{uuid.uuid4().hex[:10]}",
            }
        )
        self.service = open_episodes(self.settings)
        self.db: ReadModelDB = open_read_models(self.settings)
        self.projection = Liability(
            self.settings.rulebook_policy(), load_catalogue(), load_regions()
        )
        self.worker = ProjectionWorker(self.db, self.projection, "t")
        self.relay = Relay(self.service, "127.0.0.1:1", "t")
        self.offset = 0

    def record(self, bodies: list[dict[str, Any]]) -> None:
        self.service.record_batch([parse_event(b) for b in bodies])
        self.pump()

    def close(self, home: str, care: str, month: str) -> None:
        self.service.close_month(
            MonthClosed(
                event_id=uuid.uuid4(), home_region=home, care_region=care, month=month,
                occurred_at=datetime.now(UTC), source="finance-test",
            )
        )  # fmt: skip
        self.pump()

    def pump(self) -> None:
        while page := self.relay._read_page():
            records = []
            for _, _, value, _ in page:
                records.append(_Record(self.offset, value))
                self.offset += 1
            self.worker.apply(0, records)  # type: ignore[arg-type]
            self.relay.progress = replace(self.relay.progress, position=page[-1][0])

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.db.transaction() as cur:
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()]

    def close_all(self) -> None:
        self.db.close()
        self.service.close()
