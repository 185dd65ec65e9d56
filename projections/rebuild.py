"""Rebuilds a read model into fresh tables, then swaps them in atomically.

From Kafka (``rebuild``): offset 0 to the end; ``rebuild_from_log`` takes the same steps
with the log handed in (no broker: the tests' harness). When the log no longer starts at 0 (records
removed by retention, compaction, DeleteRecords, or a broker that lost them) a rebuild from
Kafka would silently miss facts, so it is refused, and the read model is rebuilt from the
event store instead (``rebuild_from_store``), which is also how a runner heals when its own
offset is no longer in the log.

The live tables keep serving (and the live runner keeps updating them) until the swap; the
rebuild records its Kafka positions under the live projection's name in a new generation
(``routing.persistence.positions``), and the swap makes that generation the live one in the
transaction that renames the tables; a running runner notices the changed positions and
seeks to them. (The rebuilt copy's tables, epoch and store positions carry ``__rebuild``
until then.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from projections import base
from projections.base import REBUILD_SUFFIX, Projection
from projections.db import ReadModelDB
from projections.worker import ProjectionWorker, Record
from routing.audit.reading import FactReader
from routing.episodes.service import CareEpisodes
from routing.messaging import broker
from routing.operations import metrics


class LogIncompleteError(RuntimeError):
    """The event topic no longer starts at offset 0: rebuild from the store instead."""


async def rebuild(
    db: ReadModelDB,
    projection: Projection,
    bootstrap_servers: str,
    topic: str,
    *,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> int:
    """Returns the number of messages read. ``progress(done, total)`` drives a progress bar;
    the same figures are exported as the ``routing_rebuild_*`` gauges."""

    def report(done: int, total: int) -> None:
        metrics.REBUILD_DONE.labels(projection.name).set(done)
        metrics.REBUILD_TOTAL.labels(projection.name).set(total)
        progress(done, total)

    metrics.REBUILD_RUNNING.labels(projection.name).set(1)
    try:
        return await _rebuild(db, projection, bootstrap_servers, topic, report)
    finally:
        metrics.REBUILD_RUNNING.labels(projection.name).set(0)


async def _rebuild(
    db: ReadModelDB,
    projection: Projection,
    bootstrap_servers: str,
    topic: str,
    progress: Callable[[int, int], None],
) -> int:
    worker = begin(db, projection, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await broker.started(consumer)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        starts = await consumer.beginning_offsets(tps) if tps else {}
        if any(starts.values()):
            raise LogIncompleteError(
                f"{topic} starts at {dict((tp.partition, o) for tp, o in starts.items())}, "
                "not 0: records were removed; rebuild from the store"
            )
        ends = await broker.true_end_offsets(consumer, tps)  # progress against the real end
        await consumer.seek_to_beginning(*tps)
        total, done = sum(ends.values()), 0
        progress(0, total)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            pages = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for tp, records in pages.items():
                # Read up to the high watermark of the fetch, not just to ``ends``: some
                # brokers (the bundled Tansu) under-report ListOffsets by the last batch.
                end = max(ends[tp], consumer.highwater(tp) or 0)
                records = [r for r in records if r.offset < end]
                applied = worker.apply(tp.partition, records)
                if applied.seek_to is not None:
                    # The log was replaced under us (new relay epoch): start over.
                    ends = await broker.true_end_offsets(consumer, tps)
                    await consumer.seek_to_beginning(*tps)
                    total, done, remaining = sum(ends.values()), 0, {t for t in tps if ends[t]}
                    break
                done += len(records)
                total = max(total, done)
                progress(done, total)
                if applied.next_offset >= end:
                    remaining.discard(tp)
    finally:
        await broker.stopped(consumer)
    swap(db, projection)
    return done


def begin(db: ReadModelDB, projection: Projection, topic: str) -> ProjectionWorker:
    """Clears what an earlier, unfinished rebuild left (its tables and positions) and returns
    the worker that writes the suffixed copy. Apart from the Kafka loop so that a rebuild
    without a broker (``rebuild_from_log``, the tests' harness) takes the very same steps."""
    with db.transaction() as cur:
        projection.drop(cur, REBUILD_SUFFIX)
        base.create_position_tables(cur)
        base.forget(cur, projection.name + REBUILD_SUFFIX)
    return ProjectionWorker(db, projection, topic, suffix=REBUILD_SUFFIX)


def rebuild_from_log(
    db: ReadModelDB,
    projection: Projection,
    topic: str,
    read: Callable[[], Iterable[tuple[int, list[Record]]]],
) -> int:
    """``rebuild`` with the log handed in instead of read from Kafka: ``read()`` yields the
    log from offset 0 as (partition, page of records). Returns the records read.

    Exists so a log that is not on a broker (the tests feed the relay's encoding of the
    store) is rebuilt and swapped in by the same code as ``rebuild``, not by a copy of it.
    As there, a worker that finds the log replaced (a new relay epoch) starts over: ``read``
    is called again."""
    worker = begin(db, projection, topic)
    done, restart = 0, True
    while restart:
        done, restart = 0, False
        for partition, records in read():
            if worker.apply(partition, records).seek_to is not None:
                restart = True
                break
            done += len(records)
    swap(db, projection)
    return done


def swap(db: ReadModelDB, projection: Projection) -> None:
    """Puts the rebuilt copy in place of the live tables and makes its positions the live
    generation, in one transaction, so readers and the live runner never see half of it."""
    live, fresh = projection.name, projection.name + REBUILD_SUFFIX
    with db.transaction() as cur:
        projection.drop(cur)
        for table in projection.tables:
            cur.execute(f"ALTER TABLE {table}{REBUILD_SUFFIX} RENAME TO {table}")
        projection.create(cur)  # the live tables' indexes (rebuilt tables are written without)
        base.forget(cur, live)
        base.rename(cur, fresh, live)


def rebuild_from_store(
    db: ReadModelDB,
    projection: Projection,
    service: CareEpisodes,
    topic: str,
    starts: dict[int, int],
    epoch: int,
) -> int:
    """Rebuilds the read model from the event store into fresh tables and swaps them in,
    positioned at ``starts`` (the log's first offset of every partition, read *before* this
    call). Returns the facts applied.

    Correct because every record removed from the log was published, hence stored, before
    ``starts`` was read, so its fact is at or below the store's last position read here;
    every partition's highest applied store position is set to that position, so the runner
    skips the log's copies of facts already folded in and applies only the later ones."""
    fresh = projection.name + REBUILD_SUFFIX
    reader = FactReader(service, 5000)
    last = reader.last_position()
    projection.discard_cache()
    with db.transaction() as cur:
        projection.drop(cur, REBUILD_SUFFIX)
        projection.create(cur, REBUILD_SUFFIX)
        base.create_position_tables(cur)
        base.forget(cur, fresh)
        generation = base.next_generation(cur, projection.name)
        base.write_epoch(cur, fresh, None, generation)  # reserved before its first position
    applied = 0
    try:
        for batch in reader.pages(0, last):
            with db.transaction() as cur:
                for stored in batch:
                    if stored.type in projection.interesting:
                        projection.apply(cur, stored.cloud_event(epoch), REBUILD_SUFFIX)
                        applied += 1
                projection.flush(cur, REBUILD_SUFFIX)
    finally:
        projection.discard_cache()
    with db.transaction() as cur:
        for partition, start in starts.items():
            if start:  # offset 0 is where an unrecorded position starts anyway
                base.write_position(cur, projection.name, topic, partition, generation, start)
            base.write_store_position(cur, fresh, topic, partition, last)
        base.write_epoch(cur, fresh, epoch)
    swap(db, projection)
    return applied
