"""How far each read model has caught up with the store, in store positions (read-your-writes).

Every write answers with its store position (the notification id of its transaction's last
record). A read model is *at* position P when every stored fact up to P that it cares about
has been applied. The runners consume Kafka partitions, not the store's order, so no single
offset says that; but each runner keeps, per partition, the highest store position it has
applied (``projection_store_positions``, written in the same transaction as the view), and
first sendings reach a partition in store order. A fact at position q on partition p is
therefore applied exactly when the projection's mark for p is at least q. The check reads
the facts after the last position already verified, finds each one's partition with Kafka's
own key hash (the relay's), and stops at the first interesting fact not applied yet.

The verified position is remembered per projection and relay epoch, so each check reads only
what is new. No broker is involved: end offsets can be under-reported, marks cannot.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka.partitioner import DefaultPartitioner

from projections import base
from projections.db import ReadModelDB
from routing.episodes.service import CareEpisodes
from routing.store import FACT_TOPICS

_PARTITIONER = DefaultPartitioner()
PAGE = 2000


@dataclass
class _Verified:
    epoch: int | None
    position: int


class ProjectionPositions:
    """Positions of the live projections, checked against the store; thread-safe."""

    def __init__(
        self,
        service: CareEpisodes,
        db: ReadModelDB,
        interesting: dict[str, frozenset[str]],
        *,
        topic: str,
        partitions: int,
        max_scan: int = 50_000,
    ) -> None:
        self.service, self.db, self.interesting = service, db, interesting
        self.topic, self.partitions, self.max_scan = topic, list(range(partitions)), max_scan
        self._verified: dict[str, _Verified] = {}
        self._lock = threading.Lock()

    def store_position(self) -> int:
        return self.service.event_count()

    def position(self, name: str, upto: int | None = None) -> int:
        """Store position up to which projection ``name`` has applied every fact it needs
        (checking at most up to ``upto``, default the store's newest)."""
        newest = self.store_position()  # nothing beyond it is applied, whatever is asked
        with self._lock:
            return self._position(name, newest if upto is None else min(upto, newest))

    def positions(self) -> dict[str, int]:
        newest = self.store_position()
        return {name: self.position(name, newest) for name in self.interesting}

    def _position(self, name: str, upto: int) -> int:
        marks, epoch = self._marks(name)
        known = self._verified.get(name)
        start = known.position if known is not None and known.epoch == epoch else 0
        if start >= upto:
            return start
        wanted = self.interesting[name]
        reached = start
        while reached < upto and reached - start < self.max_scan:
            page = self.service.recorder.select_notifications(
                start=reached,
                limit=PAGE,
                stop=upto,
                topics=FACT_TOPICS,
                inclusive_of_start=False,
            )
            if not page:
                reached = upto
                break
            for n in page:
                if self._type(n) in wanted and marks.get(self._partition(n), 0) < n.id:
                    self._verified[name] = _Verified(epoch, n.id - 1)
                    return n.id - 1
                reached = n.id
        self._verified[name] = _Verified(epoch, reached)
        return reached

    def _marks(self, name: str) -> tuple[dict[int, int], int | None]:
        with self.db.transaction() as cur:
            base.create_position_tables(cur)
            marks = {p: base.read_store_position(cur, name, self.topic, p) for p in self.partitions}
            return marks, base.read_epoch(cur, name)

    def _partition(self, n: Any) -> int:
        key = str(n.originator_id).encode()
        partition: int = _PARTITIONER(key, self.partitions, self.partitions)
        return partition

    def _type(self, n: Any) -> str:
        try:
            state = orjson.loads(n.state)
            kind: str = state["fact"]["type"]
            return kind
        except (orjson.JSONDecodeError, KeyError, TypeError):  # encrypted or compressed
            stored: Any = self.service.mapper.to_domain_event(n)
            return str(stored.fact["type"])
