"""A store, its relay's encoding and one projection, wired without a broker.

Facts go into the real event store; ``pump`` encodes every new one exactly as the relay does
(``Relay._read_page``) and feeds it to the projection worker as consecutive offsets of one
partition, so the projection sees what it would see on Kafka. Each projection's test support
subclasses this with what is particular to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from projections.base import Projection
from projections.db import ReadModelDB, open_read_models
from projections.rebuild import rebuild_from_log
from projections.runner import ProjectionWorker
from routing.config import Settings
from routing.episodes.events import parse_event
from routing.messaging.relay import Relay
from routing.store import open_episodes


@dataclass
class Record:
    offset: int
    value: bytes
    key: bytes = b""
    headers: tuple[Any, ...] = ()


class ProjectionHarness:
    def __init__(
        self, settings: Settings, tmp: Any, make: Callable[[Settings], Projection]
    ) -> None:
        self.settings = settings.model_copy(
            update={
                "projections_sqlite_path": tmp / "projections.db",
                "projections_schema": f"p_{uuid.uuid4().hex[:10]}",
            }
        )
        self.make = make
        self.service = open_episodes(self.settings)
        self.db: ReadModelDB = open_read_models(self.settings)
        self.projection = make(self.settings)
        self.worker = ProjectionWorker(self.db, self.projection, "t")
        self.relay = Relay(self.service, "127.0.0.1:1", "t")
        self.offset = 0

    def record(self, bodies: list[dict[str, Any]], page: int | None = None) -> None:
        self.service.record_batch([parse_event(b) for b in bodies])
        self.pump(page)

    def pump(self, page: int | None = None) -> None:
        """Feeds the relay's pages to the worker, ``page`` messages per transaction."""
        while batch := self.relay._read_page():
            records = []
            for message in batch:
                records.append(Record(self.offset, message.value))
                self.offset += 1
            size = page or len(records)
            for i in range(0, len(records), size):
                self.worker.apply(0, records[i : i + size])  # type: ignore[arg-type]
            self.relay.progress = replace(self.relay.progress, position=batch[-1].position)

    def rebuild(self) -> None:
        """What ``routing projections rebuild`` does, without Kafka: a fresh projection reads
        the relay's encoding of the whole store into suffixed tables, which are then swapped
        in, by the real rebuild's own code (``rebuild_from_log``)."""
        rebuild_from_log(self.db, self.make(self.settings), "t", self._log)

    def _log(self) -> Iterator[tuple[int, list[Record]]]:
        """The whole log as a fresh relay would publish it: partition 0 from offset 0."""
        relay, offset = Relay(self.service, "127.0.0.1:1", "t"), 0
        while batch := relay._read_page():
            yield 0, [Record(offset + i, m.value) for i, m in enumerate(batch)]
            offset += len(batch)
            relay.progress = replace(relay.progress, position=batch[-1].position)

    def query(
        self, sql: str | sa.TextClause, params: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (named binds: ``:name``, from ``params``) as plain tuples."""
        with self.db.transaction() as cur:
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()]

    def close_all(self) -> None:
        self.db.close()
        self.service.close()
