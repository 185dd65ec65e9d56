"""A store, its relay's encoding and the care-guarantee projection, wired without a broker.

Same pattern as ``tests/liability_support.py``: facts go into the real event store; ``pump``
encodes every new one as the relay does and feeds it to the projection worker as consecutive
offsets of one partition, so the projection sees exactly what it would see on Kafka.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from projections.base import REBUILD_SUFFIX
from projections.care_guarantee import CareGuarantee
from projections.db import ReadModelDB, open_read_models
from projections.rebuild import _swap
from projections.runner import ProjectionWorker
from routing.config import Settings
from routing.episodes.events import parse_event
from routing.messaging.relay import Relay
from routing.store import open_episodes


@dataclass
class _Record:
    offset: int
    value: bytes
    key: bytes = b""
    headers: tuple[Any, ...] = ()


class GuaranteeHarness:
    def __init__(self, settings: Settings, tmp: Any) -> None:
        self.settings = settings.model_copy(
            update={
                "projections_sqlite_path": tmp / "projections.db",
                "projections_schema": f"p_{uuid.uuid4().hex[:10]}",
            }
        )
        self.service = open_episodes(self.settings)
        self.db: ReadModelDB = open_read_models(self.settings)
        self.projection = CareGuarantee()
        self.worker = ProjectionWorker(self.db, self.projection, "t")
        self.relay = Relay(self.service, "127.0.0.1:1", "t")
        self.offset = 0

    def rebuild(self) -> None:
        """What ``routing projections rebuild`` does, without Kafka: a fresh projection reads
        the whole log into suffixed tables, which are then swapped in."""
        fresh = CareGuarantee()
        with self.db.transaction() as cur:
            fresh.drop(cur, REBUILD_SUFFIX)
        worker = ProjectionWorker(self.db, fresh, "t", suffix=REBUILD_SUFFIX)
        relay, offset = Relay(self.service, "127.0.0.1:1", "t"), 0
        while batch := relay._read_page():
            records = [_Record(offset + i, v) for i, (_, _, v, _) in enumerate(batch)]
            worker.apply(0, records)
            offset += len(batch)
            relay.progress = replace(relay.progress, position=batch[-1][0])
        _swap(self.db, fresh)

    def record(self, bodies: list[dict[str, Any]], page: int = 500) -> None:
        self.service.record_batch([parse_event(b) for b in bodies])
        self.pump(page)

    def pump(self, page: int = 500) -> None:
        """Feeds the relay's pages to the worker, ``page`` messages per transaction."""
        while batch := self.relay._read_page():
            records = []
            for _, _, value, _ in batch:
                records.append(_Record(self.offset, value))
                self.offset += 1
            for i in range(0, len(records), page):
                self.worker.apply(0, records[i : i + page])
            self.relay.progress = replace(self.relay.progress, position=batch[-1][0])

    def clocks(self, episode: str | None = None) -> dict[tuple[str, str, str], tuple[Any, ...]]:
        """(episode, clock, subject) -> (status, days, reason, home_region, month)."""
        rows = self.query(
            "SELECT episode_id, clock, subject_id, status, days, reason, home_region, month "
            "FROM care_guarantee_clocks" + (" WHERE episode_id = %s" if episode else ""),
            (episode,) if episode else (),
        )
        return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.db.transaction() as cur:
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()]

    def close_all(self) -> None:
        self.db.close()
        self.service.close()
