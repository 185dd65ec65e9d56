"""The outbox relay: publishes every stored fact to Kafka, in store order, and never loses one.

It follows the store's notification log (the transactional outbox: the API never writes to
Kafka itself), sends a page of facts with acks=all keyed by episode id (so one episode's
facts stay in order on one partition), waits for every acknowledgement, and only then records
its new position. A crash between send and record resends that page: duplicates are allowed
(consumers are idempotent by store position), losses are not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from routing.episodes.service import CareEpisodes
from routing.messaging import broker
from routing.messaging.envelope import CONTENT_TYPE, encode
from routing.messaging.progress import Probe, ProgressStore, RelayProgress
from routing.operations import correlation, metrics, resilience
from routing.store import FACT_TOPICS

log = logging.getLogger(__name__)
_PARTITIONER = DefaultPartitioner()  # murmur2 of the key, as every Kafka client does
_CONTENT_TYPE = CONTENT_TYPE.encode()


class Outgoing(NamedTuple):
    """One stored fact as the message the relay sends."""

    position: int
    key: bytes
    value: bytes
    event_id: str
    correlation_id: str | None


def _sample(ids: set[str | None], limit: int = 20) -> list[str]:
    """A bounded list of the correlation ids of a page, for its log line."""
    return sorted(i for i in ids if i)[:limit]


class Relay:
    def __init__(
        self,
        service: CareEpisodes,
        bootstrap_servers: str,
        topic: str,
        *,
        partitions: int = 6,
        page_size: int = 2000,
        poll_interval: float = 0.05,
        broker_check_interval: float = 5.0,
    ) -> None:
        self.service = service
        self.bootstrap = bootstrap_servers
        self.topic = topic
        self.topics = [broker.TopicSpec(topic, partitions)]
        self.page_size = page_size
        self.poll_interval = poll_interval
        self.broker_check_interval = broker_check_interval
        self.store = ProgressStore(service)
        self.progress = RelayProgress(topic)
        self.published_total = 0  # this process, for metrics and tests
        mapper = service.mapper
        self._plain_json = mapper.cipher is None and mapper.compressor is None
        self._producer: AIOKafkaProducer | None = None
        self._checked = 0.0  # when the broker's identity was last checked

    async def run(self, stop: asyncio.Event) -> None:
        """Publishes until ``stop`` is set; survives broker outages by retrying (the
        broker-outage policy, ``resilience.through_broker_outage``)."""
        self.progress = await asyncio.to_thread(self.store.load, self.topic)
        metrics.RELAY_EPOCH.set(self.progress.epoch)
        log.info(
            "relay starting at store position %d (epoch %d)",
            self.progress.position, self.progress.epoch,
        )  # fmt: skip
        try:
            while not stop.is_set():
                published = await resilience.through_broker_outage("relay", self._step, stop, log)
                if published == 0:
                    metrics.RELAY_LAG.set(0)  # no fact after the published position
                    await _wait(stop, self.poll_interval)
        finally:
            if self._producer is not None:  # flushes: nothing is in flight after a page's acks
                await _quietly(self._producer.stop())
        log.info("relay stopped at store position %d", self.progress.position)

    async def _step(self) -> int:
        """Publishes the next page (checking the broker when due); a failure drops the
        producer (a store error goes up: run() is started again by the stack; a broker error
        is tried again after a backoff, with a new producer)."""
        try:
            if self._producer is None:
                self._producer = await self._start_producer()
                await self._check_broker()
                self._checked = time.monotonic()
            elif time.monotonic() - self._checked > self.broker_check_interval:
                await self._check_broker()
                self._checked = time.monotonic()
            return await self._publish_page(self._producer)
        except BaseException:
            producer, self._producer = self._producer, None
            if producer is not None:
                await _quietly(producer.stop())
            raise

    async def _start_producer(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=5,
            max_batch_size=256 * 1024,
            request_timeout_ms=10_000,
        )
        try:
            await producer.start()
        except BaseException:
            await _quietly(producer.stop())
            raise
        return producer

    async def _check_broker(self) -> None:
        """Notices a broker that lost its log and starts a new epoch from store position 0."""
        await broker.ensure_topics(self.bootstrap, self.topics)
        current = await broker.cluster_id(self.bootstrap)
        p = self.progress
        if p.cluster_id is None:
            self.progress = replace(p, cluster_id=current)
        elif current != p.cluster_id or (
            p.probe is not None
            and not await broker.holds(
                self.bootstrap, self.topic, p.probe.partition, p.probe.offset, p.probe.event_id
            )
        ):
            log.warning(
                "relay: the broker lost its log (cluster %s -> %s, probe %s gone); "
                "republishing the store as epoch %d",
                p.cluster_id, current, p.probe, p.epoch + 1,
            )  # fmt: skip
            self.progress = p.restarted(current)
            metrics.RELAY_EPOCH.set(self.progress.epoch)
        else:
            return
        await asyncio.to_thread(self.store.save, self.progress)

    async def _publish_page(self, producer: AIOKafkaProducer) -> int:
        page = await asyncio.to_thread(self._read_page)
        if not page:
            return 0
        sent = await self._send(producer, page)
        acks = await asyncio.gather(*(future for future, _, _ in sent))  # all, or no progress
        last_ack, (_, count, last_event) = acks[-1], sent[-1]
        self.progress = replace(
            self.progress,
            position=page[-1].position,
            probe=Probe(last_ack.partition, last_ack.offset + count - 1, last_event),
        )
        await asyncio.to_thread(self.store.save, self.progress)
        self.published_total += len(page)
        newest = await asyncio.to_thread(self.service.recorder.max_notification_id)
        metrics.RELAY_PUBLISHED.inc(len(page))
        metrics.RELAY_POSITION.set(self.progress.position)
        metrics.RELAY_LAG.set(max(0, (newest or 0) - self.progress.position))
        log.debug(
            "relay published %d facts up to store position %d",
            len(page), self.progress.position,
            extra={"correlation_ids": _sample({m.correlation_id for m in page})},
        )  # fmt: skip
        return len(page)

    async def _send(
        self, producer: AIOKafkaProducer, page: Sequence[Outgoing]
    ) -> list[tuple[Any, int, str]]:
        """Sends the page as one batch per partition (split where a batch is full), each
        partition chosen by Kafka's own key hash; returns (ack future, messages, last event
        id) per batch, the batch holding the page's last message last.

        One ``send`` per message costs the client more than the broker's whole round trip
        (benchmarks/kafka.py); batches built here cost a fraction of it."""
        partitions = sorted(await producer.partitions_for(self.topic))
        open_batches: dict[int, tuple[Any, int, str]] = {}
        sent: list[tuple[Any, int, str]] = []

        async def flush(partition: int) -> None:
            batch, count, last_event = open_batches.pop(partition)
            future = await producer.send_batch(batch, self.topic, partition=partition)
            sent.append((future, count, last_event))

        for m in page:
            headers = [("content-type", _CONTENT_TYPE)]
            if m.correlation_id:
                headers.append((correlation.KAFKA_HEADER, m.correlation_id.encode()))
            partition = _PARTITIONER(m.key, partitions, partitions)
            if partition not in open_batches:
                open_batches[partition] = (producer.create_batch(), 0, "")
            batch, count, _ = open_batches[partition]
            if batch.append(key=m.key, value=m.value, timestamp=None, headers=headers) is None:
                await flush(partition)
                batch, count = producer.create_batch(), 0
                if batch.append(key=m.key, value=m.value, timestamp=None, headers=headers) is None:
                    raise ValueError(f"event {m.event_id} is larger than a Kafka batch")
            open_batches[partition] = (batch, count + 1, m.event_id)
        last_partition = _PARTITIONER(page[-1].key, partitions, partitions)
        for partition in [p for p in open_batches if p != last_partition] + [last_partition]:
            await flush(partition)
        return sent

    def _read_page(self) -> Sequence[Outgoing]:
        """(position, key, CloudEvent bytes, event id) of the facts after the recorded position.

        The scan is bounded (``stop``): without a bound PostgreSQL may sort the whole backlog
        for every page. A window holding only bookkeeping records (receipts, routing
        decisions) is stepped over."""
        window = 2 * self.page_size
        while True:
            start = self.progress.position
            page = self.service.recorder.select_notifications(
                start=start,
                limit=self.page_size,
                stop=start + window,
                topics=FACT_TOPICS,
                inclusive_of_start=False,
            )
            if page:
                return [self._message(n) for n in page]
            if start + window >= (self.service.recorder.max_notification_id() or 0):
                return []
            self.progress = replace(self.progress, position=start + window)

    def _message(self, n: Any) -> Outgoing:
        """One stored fact as its CloudEvent message. Without cipher or compressor the stored
        JSON is read as is (the transcoder's ``timestamp._data_``), not through the library's
        mapper: measured 79 against 156 us a message, half the cost (benchmarks/overrides.py,
        3,000 facts, medians of 7 alternating rounds, 2026-12-04)."""
        if self._plain_json:  # the stored JSON as is: no event objects on the hot path
            state = orjson.loads(n.state)
            fact, recorded_at = state["fact"], state["timestamp"]["_data_"]
            cid = state.get(correlation.STATE_KEY)
        else:  # encrypted or compressed: the library's mapper undoes it
            stored: Any = self.service.mapper.to_domain_event(n)
            fact, recorded_at = stored.fact, stored.timestamp.isoformat()
            cid = getattr(stored, correlation.STATE_KEY, None)
        value = encode(
            fact,
            subject=str(n.originator_id),
            recorded_at=recorded_at,
            position=n.id,
            episode_version=n.originator_version,
            epoch=self.progress.epoch,
            correlation_id=cid,
        )
        return Outgoing(n.id, str(n.originator_id).encode(), value, fact["event_id"], cid)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _quietly(coro: Any) -> None:
    with contextlib.suppress(Exception):  # best-effort cleanup of a broken client
        await coro
