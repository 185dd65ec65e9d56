# Over 300 lines because making, starting, stopping and rejoining a consumer share its quirks.
"""Talking to a broker: topics, the broker's identity, what a log still holds, and the one way
our consumers (ingest, projection runners, the relay's checks) are made, started, stopped and
rejoined. Running the bundled broker is ``routing.messaging.bundled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.consumer import AIOKafkaConsumer
from aiokafka.errors import TopicAlreadyExistsError

from routing.messaging.envelope import decode
from routing.operations import resilience

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int


METADATA_MAX_AGE_MS = 5_000
"""How old a group consumer's view of its topics may grow (the client's default: 5 minutes).
A replaced broker may hold a topic re-created with another partition count (a front-end's
producer created it with the broker's default), or partitions may be added: a partition the
consumer does not know is never assigned, so its records would wait unread for minutes."""

SESSION_TIMEOUT_MS = 6_000
"""A group consumer's session (the client's default: 10 s; Apache Kafka's smallest allowed by
default, ``group.min.session.timeout.ms``, is 6 s). The bundled broker answers a JoinGroup
only after half the session: every rejoin (a replaced broker, a worker started again) cost
5 s and now costs 3 s. The heartbeat runs on its own task, the store work in threads, so a
busy worker still heartbeats well within it; a member that misses it merely rejoins (every
position is in the store)."""
HEARTBEAT_INTERVAL_MS = 2_000
"""A third of the session, as Kafka recommends."""


FETCH_MAX_WAIT_MS = 50
"""How long a fetch waits for records (the client's default, 500 ms, was most of the
end-to-end lag)."""


def group_consumer(
    bootstrap: str, group_id: str, *, max_record_bytes: int = 4 * 1024 * 1024
) -> AIOKafkaConsumer:
    """A member of ``group_id``, configured as every one of ours (ingest, projection runners):
    offsets are never committed on their own (each process stores its positions with its
    effects; Kafka's commits, made after, are for lag monitoring only), so a new group starts at
    the log's beginning; read_uncommitted because no producer of ours uses transactions
    (exactly-once comes from the stored positions); a short session and metadata age for a
    quick rejoin and for partitions a replaced broker added. ``max_record_bytes``: a record
    larger than this could not be read (ingest takes records bigger than a fact, to
    dead-letter them)."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_uncommitted",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        max_partition_fetch_bytes=max_record_bytes,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
    )


async def started_consumer(
    name: str,
    bootstrap: str,
    group_id: str,
    stop: asyncio.Event,
    logger: logging.Logger,
    *,
    max_record_bytes: int = 4 * 1024 * 1024,
) -> AIOKafkaConsumer | None:
    """A :func:`group_consumer`, started; while the broker is away, tried again with the
    broker-outage policy (``resilience.through_broker_outage``), a fresh consumer each time.
    None when ``stop`` is set meanwhile."""

    async def attempt() -> AIOKafkaConsumer:
        return await started(group_consumer(bootstrap, group_id, max_record_bytes=max_record_bytes))

    return await resilience.through_broker_outage(name, attempt, stop, logger)


async def started(consumer: AIOKafkaConsumer) -> AIOKafkaConsumer:
    """``consumer``, started; stopped again if its start fails, so a broker that is away
    leaves no half-open connections or background tasks behind."""
    try:
        await consumer.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await stopped(consumer)
        raise
    return consumer


async def stopped(consumer: AIOKafkaConsumer) -> None:
    """Stops ``consumer``: how every consumer of ours that fetches is stopped. After a broker
    loss aiokafka's ``stop()`` can raise CancelledError though nobody cancelled the caller
    (``resilience.ClientCancelledError``). That one is the library's and is dropped here; a
    cancellation of the caller's own task still goes up."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        if resilience.cancelled_by_us():
            raise
        log.debug("consumer stopping: the client raised CancelledError on its own (dropped)")
        await _finish_stopping(consumer)


async def _finish_stopping(consumer: AIOKafkaConsumer) -> None:
    """What aiokafka's ``stop()`` left undone when that CancelledError left it: the rest of
    its fetcher's pending fetches, and the client (its connections and metadata task), which
    would otherwise stay open for good (``stop()`` will not run twice)."""
    fetcher = getattr(consumer, "_fetcher", None)
    pending = list(getattr(fetcher, "_pending_tasks", ()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await consumer._client.close()


async def rejoin(
    consumer: AIOKafkaConsumer, topic: str, listener: ConsumerRebalanceListener
) -> None:
    """After a new log (a replaced broker): learn its partitions now, not at the next
    metadata refresh, and join the group afresh, so the assignment covers every partition the
    new log has (a group joined before the topic grew kept its three and left the fourth
    unread, seen with Tansu); ``listener`` then seeks each to where the store says."""
    try:
        await consumer._client.force_metadata_update()
    except resilience.BROKER_ERRORS as exc:  # the refresh every few seconds finds it
        log.warning("%s: could not refresh the partitions of the new log: %r", topic, exc)
    consumer.unsubscribe()
    consumer.subscribe([topic], listener=listener)


async def ensure_topics(bootstrap: str, topics: list[TopicSpec]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # a concurrent creator won
                await admin.create_topics(
                    [
                        NewTopic(t.name, num_partitions=t.partitions, replication_factor=1)
                        for t in missing
                    ]
                )
            log.info("created topics %s", ", ".join(t.name for t in missing))
    finally:
        await admin.close()


async def cluster_id(bootstrap: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        return str(cluster.get("cluster_id"))
    finally:
        await admin.close()


async def holds(bootstrap: str, topic: str, partition: int, offset: int, event_id: str) -> bool:
    """Whether the message with ``event_id`` is still at ``offset`` (a lost log says no).

    Raises TimeoutError when the broker does not answer in time: a slow broker is not a lost
    log (that would make the relay republish the whole store)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await started(consumer)
    try:
        if partition not in (consumer.partitions_for_topic(topic) or set()):
            await consumer._client.force_metadata_update()
            if partition not in (consumer.partitions_for_topic(topic) or set()):
                return False
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        for _ in range(3):
            page = await consumer.getmany(tp, timeout_ms=1000, max_records=1)
            for record in page.get(tp, []):
                return bool(record.offset == offset and str(decode(record.value).id) == event_id)
            end = consumer.highwater(tp)
            if end is not None and end <= offset:
                return False  # the log ends before the probe
        raise TimeoutError(f"{topic}[{partition}]@{offset}: the broker did not answer")
    finally:
        await stopped(consumer)


@dataclass(frozen=True)
class BrokerView:
    """What the broker says about itself and a topic's log right now."""

    cluster_id: str
    end_offsets: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.end_offsets.values())


async def inspect(bootstrap: str, topic: str) -> BrokerView:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        cluster_id = str(cluster.get("cluster_id"))
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await started(consumer)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = await consumer.end_offsets(tps) if tps else {}
    finally:
        await stopped(consumer)
    return BrokerView(cluster_id, {tp.partition: off for tp, off in ends.items()})


class ClusterWatch:
    """The broker's cluster id through one long-lived admin client (a check per page must not
    open a connection each time). Reconnects after a failure."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._admin: AIOKafkaAdminClient | None = None

    async def cluster_id(self) -> str:
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
            try:
                await admin.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await admin.close()
                raise
            self._admin = admin
        try:
            cluster = await self._admin.describe_cluster()
        except BaseException:
            await self.close()
            raise
        return str(cluster.get("cluster_id"))

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()


async def true_end_offsets(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], *, timeout: float = 3.0
) -> dict[TopicPartition, int]:
    """The real end of each partition: ListOffsets, corrected by the high watermark of a fetch
    at that offset. The bundled Tansu answers ListOffsets with the last batch's base offset
    + 1 (too low after a multi-record produce) but reports the high watermark of a fetch
    correctly; on Apache Kafka both agree. ``consumer`` must not belong to a group: it is
    assigned ``tps`` (and keeps that assignment)."""
    if not tps:
        return {}
    listed = await consumer.end_offsets(tps)
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, listed[tp])
    deadline = time.monotonic() + timeout
    while any(consumer.highwater(tp) is None for tp in tps):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no fetch answer for {tps} within {timeout}s")
        await consumer.getmany(*tps, timeout_ms=50, max_records=1)
    return {tp: max(int(listed[tp]), int(consumer.highwater(tp) or 0)) for tp in tps}


async def read_records(
    bootstrap: str, topic: str, start: dict[int, int], *, timeout: float = 30.0
) -> tuple[list[ConsumerRecord[bytes, bytes]], dict[int, int]]:
    """Every message of ``topic`` from ``start`` (partition -> offset; absent: the beginning)
    up to its real end now; returns them and the next offset of each partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await started(consumer)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = await true_end_offsets(consumer, tps)
        firsts = await consumer.beginning_offsets(tps) if tps else {}
        out: list[ConsumerRecord[bytes, bytes]] = []
        positions = {tp: max(start.get(tp.partition, 0), firsts[tp]) for tp in tps}
        for tp in tps:
            consumer.seek(tp, positions[tp])
        remaining = {tp for tp in tps if positions[tp] < ends[tp]}
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within {timeout}s")
            pages = await consumer.getmany(*remaining, timeout_ms=200, max_records=5000)
            for tp, records in pages.items():
                records = [r for r in records if r.offset < ends[tp]]
                out.extend(records)
                if records:
                    positions[tp] = records[-1].offset + 1
                if positions[tp] >= ends[tp] or await consumer.position(tp) >= ends[tp]:
                    positions[tp] = max(positions[tp], ends[tp])
                    remaining.discard(tp)
        return out, {tp.partition: positions[tp] for tp in tps}
    finally:
        await stopped(consumer)


class RecordPeek:
    """Reads single records by position through one long-lived consumer (no group)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._consumer: AIOKafkaConsumer | None = None

    async def at(self, tp: TopicPartition, offset: int) -> ConsumerRecord[bytes, bytes] | None:
        """The record at ``offset``, or None when the log does not hold it (now)."""
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
            )
            await started(consumer)
            self._consumer = consumer
        try:
            self._consumer.assign([tp])
            self._consumer.seek(tp, offset)
            page = await self._consumer.getmany(tp, timeout_ms=500, max_records=1)
        except BaseException:
            await self.close()
            raise
        return next((r for r in page.get(tp, []) if r.offset == offset), None)

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await stopped(consumer)
