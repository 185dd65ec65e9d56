"""Runs a projection off the event topic with exactly-once effects.

Each page of messages from one partition is applied in one read-model transaction that also
stores the partition's next offset: a redelivery (after a crash between the database commit
and the Kafka offset commit, or a rebalance) finds its offsets already applied and skips them.
Kafka's committed offsets are written afterwards for lag monitoring only.

The relay epoch on each message tells whether the log is the one the read model was built
from. A higher epoch means the broker lost its log and the relay republished the store: the
read model is emptied and rebuilt from offset 0. A message whose offset lies beyond the stored
position (positions were reset, or a rebuild swapped in) makes the consumer seek back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from pydantic import ValidationError

from projections import base
from projections.base import Projection
from projections.db import Cursor, ReadModelDB
from routing.messaging.envelope import TYPE_PREFIX, decode

log = logging.getLogger(__name__)

Record: TypeAlias = ConsumerRecord  # of bytes key and value


@dataclass(frozen=True)
class Applied:
    next_offset: int
    seek_to: int | None = None  # the consumer must continue from here instead


class ProjectionWorker:
    """The database side of a runner: pure SQL, no Kafka, so it can be driven directly."""

    def __init__(
        self, db: ReadModelDB, projection: Projection, topic: str, *, suffix: str = ""
    ) -> None:
        self.db, self.projection, self.topic, self.suffix = db, projection, topic, suffix
        self.key = projection.name + suffix
        self.applied = 0
        with db.transaction() as cur:
            base.create_position_tables(cur)
            projection.create(cur, suffix)

    def position(self, partition: int) -> int:
        with self.db.transaction() as cur:
            return base.read_position(cur, self.key, self.topic, partition)

    def apply(self, partition: int, records: list[Record]) -> Applied:
        with self.db.transaction() as cur:
            next_offset = base.read_position(cur, self.key, self.topic, partition)
            epoch = base.read_epoch(cur, self.key)
            newer: int | None = None
            for record in records:
                if record.offset < next_offset:
                    continue  # already applied: a redelivery
                if record.offset > next_offset:
                    base.write_position(cur, self.key, self.topic, partition, next_offset)
                    return Applied(next_offset, seek_to=next_offset)
                epoch, newer = self._apply_one(cur, record, epoch)
                if newer is not None:
                    break  # this page's work is discarded by the reset below
                next_offset = record.offset + 1
            else:
                base.write_position(cur, self.key, self.topic, partition, next_offset)
                return Applied(next_offset)
        assert newer is not None
        self.reset(newer)
        return Applied(0, seek_to=0)

    def _apply_one(
        self, cur: Cursor, record: Record, epoch: int | None
    ) -> tuple[int | None, int | None]:
        """Applies one message. Returns the read model's epoch, and a newer relay epoch if the
        log was replaced (then nothing was applied)."""
        kind = _type_header(record)
        if kind is not None and kind not in self.projection.interesting and epoch is not None:
            return epoch, None  # cheap skip; epochs are checked on the messages that matter
        try:
            event = decode(record.value or b"")
        except ValidationError as exc:
            log.error("%s: undecodable message at offset %d: %s", self.key, record.offset, exc)
            return epoch, None
        if epoch is None:
            epoch = event.relayepoch
            base.write_epoch(cur, self.key, epoch)
        elif event.relayepoch > epoch:
            return epoch, event.relayepoch
        elif event.relayepoch < epoch:
            return epoch, None  # from the log the relay has since replaced
        if event.event_type in self.projection.interesting:
            self.projection.apply(cur, event, self.suffix)
            self.applied += 1
        return epoch, None

    def reset(self, epoch: int) -> None:
        """Empties the read model and its positions; it is rebuilt from offset 0 of ``epoch``."""
        log.warning("%s: the relay republished the store (epoch %d); rebuilding", self.key, epoch)
        with self.db.transaction() as cur:
            self.projection.drop(cur, self.suffix)
            self.projection.create(cur, self.suffix)
            base.forget(cur, self.key)
            base.write_epoch(cur, self.key, epoch)


def _type_header(record: Record) -> str | None:
    """Peeks at the CloudEvent type without a full decode (a byte search in the JSON)."""
    value = record.value or b""
    start = value.find(b'"type":"' + TYPE_PREFIX.encode())
    if start < 0:
        return None
    start += len(b'"type":"') + len(TYPE_PREFIX)
    end = value.find(b'"', start)
    return value[start:end].decode() if end > start else None


class ProjectionRunner:
    """Consumes the event topic in a consumer group and feeds one projection."""

    def __init__(
        self,
        db: ReadModelDB,
        projection: Projection,
        bootstrap_servers: str,
        topic: str,
        *,
        group_prefix: str = "routing-projection-",
        on_applied: Callable[[int], None] | None = None,
    ) -> None:
        self.worker = ProjectionWorker(db, projection, topic)
        self.bootstrap = bootstrap_servers
        self.topic = topic
        self.group_id = group_prefix + projection.name
        self.on_applied = on_applied
        self.consumer: AIOKafkaConsumer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        consumer = self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        consumer.subscribe([self.topic], listener=_ResumeFromStore(self.worker, consumer))
        try:
            while not stop.is_set():
                pages = await consumer.getmany(timeout_ms=200, max_records=2000)
                for tp, records in pages.items():
                    await self._page(consumer, tp, records)
        finally:
            await consumer.stop()

    async def _page(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[Record]
    ) -> None:
        applied = await asyncio.to_thread(self.worker.apply, tp.partition, records)
        if applied.seek_to is not None:
            targets = consumer.assignment() if applied.seek_to == 0 else {tp}
            for target in targets:
                consumer.seek(
                    target, await asyncio.to_thread(self.worker.position, target.partition)
                )
            return
        if self.on_applied:
            self.on_applied(len(records))
        await consumer.commit({tp: applied.next_offset})


class _ResumeFromStore(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: ProjectionWorker, consumer: AIOKafkaConsumer) -> None:
        self.worker, self.consumer = worker, consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        for tp in assigned:
            self.consumer.seek(tp, await asyncio.to_thread(self.worker.position, tp.partition))
