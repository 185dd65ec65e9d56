"""How a projection runner heals when the log is not the one its read model was built from.

* ``offset_missing``: the stored position is below the log's first offset (records removed by
  retention, compaction, DeleteRecords, or a broker that lost them). Seeking back to it would
  loop forever; the runner says so (``routing_projection_offset_missing_total``, an error log
  line, ``/ready`` 503 naming it) and rebuilds the read model from the event store
  (``rebuild.rebuild_from_store``), never skipping the missing records silently.
* ``check_epoch``: while idle, the last message applied on each partition must still be of the
  read model's relay epoch; a relay that republished exactly as many messages as the read
  model had read leaves nothing beyond its positions to reveal the new epoch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from projections.rebuild import rebuild_from_store
from projections.worker import Applied, ProjectionWorker, epoch_of
from routing.episodes.service import CareEpisodes
from routing.messaging import broker
from routing.messaging.progress import ProgressStore
from routing.operations import health, metrics

log = logging.getLogger(__name__)


class ProjectionRunner(Protocol):
    """What healing needs of ``projections.runner.ProjectionRunner`` (which calls it): named
    here so this module does not import the runner back."""

    topic: str
    worker: ProjectionWorker
    store: Callable[[], CareEpisodes] | None


async def offset_missing(
    runner: ProjectionRunner, consumer: AIOKafkaConsumer, tp: TopicPartition, applied: Applied
) -> bool:
    """Whether the stored position is below the log's start; if so, heals from the store
    (or, without one, stops reading the partition and stays not ready)."""
    position = applied.next_offset
    partitions = sorted(consumer.partitions_for_topic(runner.topic) or {tp.partition})
    tps = [TopicPartition(runner.topic, p) for p in partitions]
    starts = {t.partition: int(o) for t, o in (await consumer.beginning_offsets(tps)).items()}
    if position >= starts.get(tp.partition, 0):
        return False  # in the log: the position was moved back (a swap); seek to it
    key, name = f"offset_missing:{runner.worker.key}", runner.worker.projection.name
    reason = (
        f"{runner.worker.key}: partition {tp.partition} next offset {position} is below the "
        f"log's start {starts[tp.partition]}: records were removed before they were applied"
    )
    metrics.OFFSET_MISSING.labels(name).inc()
    health.report_problem(key, reason + "; rebuilding from the event store")
    if runner.store is None:
        log.error("%s; no event store to rebuild from: partition paused", reason)
        consumer.pause(tp)
        return True
    log.error("%s; rebuilding the read model from the event store", reason)
    store = await asyncio.to_thread(runner.store)
    try:
        epoch = (await asyncio.to_thread(ProgressStore(store).load, runner.topic)).epoch
        applied_facts = await asyncio.to_thread(
            rebuild_from_store, runner.worker.db, runner.worker.projection, store, runner.topic,
            starts, epoch,
        )  # fmt: skip
    finally:
        store.close()
    for target in consumer.assignment():
        consumer.seek(target, await asyncio.to_thread(runner.worker.position, target.partition))
    health.clear_problem(key)
    log.warning("%s: rebuilt from the event store (%d facts)", runner.worker.key, applied_facts)
    return True


async def check_epoch(
    runner: ProjectionRunner, consumer: AIOKafkaConsumer, peek: broker.RecordPeek
) -> None:
    """While idle: is the last message applied on each partition still there, of the read
    model's epoch? A relay that republished exactly as many messages as the read model had
    read leaves nothing beyond its positions to reveal the new epoch."""
    epoch = await asyncio.to_thread(runner.worker.epoch)
    if epoch is None:
        return
    for tp in sorted(consumer.assignment()):
        position = await asyncio.to_thread(runner.worker.position, tp.partition)
        if position == 0:
            continue
        try:
            record = await peek.at(tp, position - 1)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.debug("%s: epoch check failed: %r", runner.worker.key, exc)
            return
        newer = epoch_of(record) if record is not None else None
        if newer is not None and newer > epoch:
            await asyncio.to_thread(runner.worker.reset, newer)
            runner.worker.projection.discard_cache()
            for target in consumer.assignment():
                consumer.seek(target, 0)
            return
