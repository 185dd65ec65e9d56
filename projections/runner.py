"""Runs a projection off the event topic with exactly-once effects.

Each page of messages from one partition is applied in one read-model transaction that also
stores the partition's next offset: a redelivery (after a crash between the database commit
and the Kafka offset commit, or a rebalance) finds its offsets already applied and skips them.
Kafka's committed offsets are written afterwards for lag monitoring only.

Offsets cannot recognise a fact the relay sent twice (it resends a page it could not record
as published, so the copy sits at a later offset): per partition the highest store position
applied is kept in the same transaction, and an interesting message at or below it is skipped.
Within a partition and an epoch, first sendings arrive in store order.

The relay epoch on each message tells whether the log is the one the read model was built
from. A higher epoch means the broker lost its log and the relay republished the store: the
read model is emptied and rebuilt from offset 0. A message whose offset lies beyond the stored
position (positions were reset, or a rebuild swapped in) makes the consumer seek back.

Unless the stored position is no longer in the log (below its first offset: records removed
by retention, compaction, DeleteRecords, or a broker that lost them): seeking back would loop
forever. The runner says so and heals the only correct way, from the event store
(``healing.py``); it never skips the missing records silently.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from projections import base, healing
from projections.base import Projection
from projections.db import Cursor, ReadModelDB
from routing.episodes.service import CareEpisodes
from routing.messaging import broker
from routing.messaging.envelope import TYPE_PREFIX, decode
from routing.operations import failpoints, metrics, resilience

log = logging.getLogger(__name__)

Record: TypeAlias = ConsumerRecord  # of bytes key and value


@dataclass(frozen=True)
class Applied:
    next_offset: int
    seek_to: int | None = None  # the consumer must continue from here instead
    first: int | None = None  # with seek_to: the first offset delivered, beyond the position


class ProjectionWorker:
    """The database side of a runner: pure SQL, no Kafka, so it can be driven directly."""

    def __init__(
        self, db: ReadModelDB, projection: Projection, topic: str, *, suffix: str = ""
    ) -> None:
        self.db, self.projection, self.topic, self.suffix = db, projection, topic, suffix
        self.key = projection.name + suffix
        self.applied = 0
        self.duplicates = 0  # resent facts recognised by their store position
        self.correlations: set[str] = set()  # of the facts applied by the last page
        self.page_applied = 0  # facts the last page applied
        with db.transaction() as cur:
            base.create_position_tables(cur)
            projection.create(cur, suffix)

    @resilience.patiently  # a store restart: wait for it here, keeping the group membership
    def position(self, partition: int) -> int:
        with self.db.transaction() as cur:
            return base.read_position(cur, self.key, self.topic, partition)

    def epoch(self) -> int | None:
        """The relay epoch the read model was built from (None: nothing applied yet)."""
        with self.db.transaction() as cur:
            return base.read_epoch(cur, self.key)

    @resilience.patiently  # one transaction: a page cut off by a restart is applied again
    def apply(self, partition: int, records: list[Record]) -> Applied:
        self.correlations, self.page_applied = set(), 0
        try:
            return self._apply(partition, records)
        except BaseException:
            self.projection.discard_cache()  # the transaction rolled back: so does memory
            raise

    def _apply(self, partition: int, records: list[Record]) -> Applied:
        with self.db.transaction() as cur:
            self.db.lock_partition(cur, self.key, partition)
            next_offset = base.read_position(cur, self.key, self.topic, partition)
            epoch = base.read_epoch(cur, self.key)
            seen = base.read_store_position(cur, self.key, self.topic, partition)
            newer: int | None = None
            for record in records:
                if record.offset < next_offset:
                    # Already applied (a redelivery), unless the broker lost its log and the
                    # relay's republished one is still shorter than our position here.
                    if epoch is not None and (epoch_of(record) or 0) > epoch:
                        newer = epoch_of(record)
                        break
                    continue
                if record.offset > next_offset:
                    self._save(cur, partition, next_offset, seen)
                    return Applied(next_offset, seek_to=next_offset, first=record.offset)
                epoch, newer, seen = self._apply_one(cur, record, epoch, seen)
                if newer is not None:
                    break  # this page's work is discarded by the reset below
                next_offset = record.offset + 1
            else:
                self._save(cur, partition, next_offset, seen)
                return Applied(next_offset)
        assert newer is not None
        self.reset(newer)
        return Applied(0, seek_to=0)

    def _save(self, cur: Cursor, partition: int, next_offset: int, seen: int) -> None:
        self.projection.flush(cur, self.suffix)
        base.write_position(cur, self.key, self.topic, partition, next_offset)
        base.write_store_position(cur, self.key, self.topic, partition, seen)

    def _apply_one(
        self, cur: Cursor, record: Record, epoch: int | None, seen: int
    ) -> tuple[int | None, int | None, int]:
        """Applies one message. Returns the read model's epoch, a newer relay epoch if the log
        was replaced (then nothing was applied), and the highest store position applied."""
        kind = _type_header(record)
        if kind is not None and kind not in self.projection.interesting and epoch is not None:
            return epoch, None, seen  # cheap skip; epochs are checked on the messages that matter
        try:
            event = decode(record.value or b"")
        except ValidationError as exc:
            log.error("%s: undecodable message at offset %d: %s", self.key, record.offset, exc)
            return epoch, None, seen
        if epoch is None:
            epoch = event.relayepoch
            base.write_epoch(cur, self.key, epoch)
        elif event.relayepoch > epoch:
            return epoch, event.relayepoch, seen
        elif event.relayepoch < epoch:
            return epoch, None, seen  # from the log the relay has since replaced
        if event.event_type in self.projection.interesting:
            if event.storeposition <= seen:
                # Resent by a relay that crashed before recording the page: applied already.
                self.duplicates += 1
                return epoch, None, seen
            self.projection.apply(cur, event, self.suffix)
            self.applied += 1
            self.page_applied += 1
            if event.correlationid:
                self.correlations.add(event.correlationid)
            seen = event.storeposition
        return epoch, None, seen

    def reset(self, epoch: int) -> None:
        """Empties the read model and its positions; it is rebuilt from offset 0 of ``epoch``."""
        log.warning("%s: the relay republished the store (epoch %d); rebuilding", self.key, epoch)
        with self.db.transaction() as cur:
            self.projection.drop(cur, self.suffix)
            self.projection.create(cur, self.suffix)
            base.forget(cur, self.key)
            base.write_epoch(cur, self.key, epoch)


def epoch_of(record: Record) -> int | None:
    """Peeks at the CloudEvent's relay epoch without a full decode."""
    match = _EPOCH.search(record.value or b"")
    return int(match.group(1)) if match else None


_EPOCH = re.compile(rb'"relayepoch":(\d+)')


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
        store: Callable[[], CareEpisodes] | None = None,
    ) -> None:
        self.worker = ProjectionWorker(db, projection, topic)
        self.store = store  # opens the event store, to heal from when the log lost records
        self.epoch_check_interval = 5.0
        self.bootstrap = bootstrap_servers
        self.topic = topic
        self.group_id = group_prefix + projection.name
        self.on_applied = on_applied
        self.consumer: AIOKafkaConsumer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until ``stop`` is set; a page in hand is applied and committed first."""
        consumer = self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,  # the default 500 ms is most of the end-to-end lag
            max_partition_fetch_bytes=4 * 1024 * 1024,
            metadata_max_age_ms=broker.METADATA_MAX_AGE_MS,  # a topic re-created on a new broker
            session_timeout_ms=broker.SESSION_TIMEOUT_MS,  # a quicker rejoin
            heartbeat_interval_ms=broker.HEARTBEAT_INTERVAL_MS,
        )
        await consumer.start()
        consumer.subscribe([self.topic], listener=_ResumeFromStore(self.worker, consumer))
        peek, checked = broker.RecordPeek(self.bootstrap), time.monotonic()
        try:
            while not stop.is_set():
                pages = await consumer.getmany(timeout_ms=200, max_records=2000)
                for tp, records in pages.items():
                    await self._page(consumer, tp, records)
                if not pages and time.monotonic() - checked > self.epoch_check_interval:
                    checked = time.monotonic()
                    await healing.check_epoch(self, consumer, peek)
        finally:
            await consumer.stop()
            await peek.close()
            log.info("%s: stopped", self.worker.key)

    async def _page(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[Record]
    ) -> None:
        applied = await asyncio.to_thread(self.worker.apply, tp.partition, records)
        if applied.first is not None and await healing.offset_missing(self, consumer, tp, applied):
            return
        if applied.seek_to is not None:
            targets = consumer.assignment() if applied.seek_to == 0 else {tp}
            for target in targets:
                consumer.seek(
                    target, await asyncio.to_thread(self.worker.position, target.partition)
                )
            return
        if self.on_applied:
            self.on_applied(len(records))
        self._observe(consumer, tp, records, applied.next_offset)
        if self.worker.page_applied:
            failpoints.reached("projection-after-db-commit")  # tests kill the process here
        try:
            await consumer.commit({tp: applied.next_offset})
        except KafkaError as exc:
            # A rebalance or a broker restart under way (CommitFailedError...): the read model
            # holds the position, so only lag monitoring lags until the next commit.
            log.warning("%s: offset commit failed: %r", self.worker.key, exc)

    def _observe(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[Record], next_: int
    ) -> None:
        """Lag per partition from the fetch's high watermark (no extra request), and a log
        line naming the correlation ids of the facts the page applied."""
        name, part = self.worker.projection.name, str(tp.partition)
        end = consumer.highwater(tp)
        metrics.PROJECTION_OFFSET.labels(name, part).set(next_)
        if end is not None:
            metrics.PROJECTION_LAG.labels(name, part).set(max(0, end - next_))
        metrics.PROJECTION_APPLIED.labels(name).inc(len(records))
        if self.worker.page_applied:
            ids = sorted(self.worker.correlations)
            log.info(
                "%s: applied %d facts from partition %d up to offset %d",
                name, self.worker.page_applied, tp.partition, next_ - 1,
                extra={"correlation_ids": ids[:50], "correlation_id": ids[0] if ids else None},
            )  # fmt: skip


class _ResumeFromStore(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: ProjectionWorker, consumer: AIOKafkaConsumer) -> None:
        self.worker, self.consumer = worker, consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        stored = {}
        for tp in assigned:
            stored[tp] = await asyncio.to_thread(self.worker.position, tp.partition)
            self.consumer.seek(tp, stored[tp])
        # A partition read to its end before a crash yields no page to commit after it, so
        # Kafka's offsets (lag monitoring) would stay behind the read model's until new
        # messages arrive: commit the read model's positions now.
        # Bounded: aiokafka retries retriable errors (a topic the broker does not know yet)
        # without end, and the rebalance would wait for it.
        ahead = {tp: offset for tp, offset in stored.items() if offset > 0}
        if ahead:
            try:
                await asyncio.wait_for(self.consumer.commit(ahead), timeout=5)
            except (KafkaError, TimeoutError) as exc:  # only monitoring suffers
                log.warning("%s: could not commit resumed offsets: %r", self.worker.key, exc)
