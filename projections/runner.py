"""Runs a projection off the event topic with exactly-once effects.

The consumer side: a consumer group on the event topic hands each page of one partition to a
``ProjectionWorker`` (``worker.py``), which applies it and its next offset in one read-model
transaction (exactly once; relay resends and republished logs recognised there). Kafka's
committed offsets are written afterwards for lag monitoring only.

A message whose offset lies beyond the stored position (positions were reset, or a rebuild
swapped in) makes the consumer seek back. Unless the stored position is no longer in the log
(below its first offset: records removed by retention, compaction, DeleteRecords, or a broker
that lost them): seeking back would loop forever. The runner says so and heals the only
correct way, from the event store (``healing.py``); it never skips the missing records
silently.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from projections import healing
from projections.base import Projection
from projections.db import ReadModelDB
from projections.worker import Applied, ProjectionWorker, Record, epoch_of
from routing.episodes.service import CareEpisodes
from routing.messaging import broker
from routing.operations import failpoints, metrics, resilience

# Applied, ProjectionWorker and epoch_of lived here before the worker had its own module.
__all__ = ["Applied", "ProjectionRunner", "ProjectionWorker", "Record", "epoch_of"]

log = logging.getLogger(__name__)


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
        consumer = await broker.started_consumer(
            self.worker.key, self.bootstrap, self.group_id, stop, log
        )
        if consumer is None:  # stopped before the broker answered
            return
        self.consumer = consumer
        consumer.subscribe([self.topic], listener=_ResumeFromStore(self.worker, consumer))
        peek, checked = broker.RecordPeek(self.bootstrap), time.monotonic()
        try:
            while not stop.is_set():
                pages = await consumer.getmany(timeout_ms=200, max_records=2000)
                for tp, records in pages.items():  # a page applies once, however often tried
                    page = functools.partial(self._page, consumer, tp, records)
                    await resilience.through_broker_outage(self.worker.key, page, stop, log)
                if not pages and time.monotonic() - checked > self.epoch_check_interval:
                    checked = time.monotonic()
                    await healing.check_epoch(self, consumer, peek)
        finally:
            await broker.stopped(consumer)
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
