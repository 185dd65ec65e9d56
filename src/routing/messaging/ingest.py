# Over 300 lines because loop, positions and dead letters are one delivery guarantee.
"""Inbound topic consumer: front-ends may produce facts to Kafka instead of calling HTTP.

Each message is validated with the same models as the API and recorded with the same
service. Its Kafka position (offset + 1, per partition) is written in the same transaction as
the facts it caused, so a redelivered message is recognised and skipped: exactly-once
effects without Kafka transactions. Anything that cannot be applied (not JSON, not a valid
event, refused by a journey rule, an event id reused with another body) goes to the
dead-letter topic with its original bytes and headers naming the reason; the consumer carries on.
A record larger than a fact may be (``max_bytes``) is dead-lettered too, as a reference when
the dead-letter topic could not hold it (``dead_letters.py``): one letter per bad record, even
across restarts.

The stored positions belong to one inbound log. A broker that lost its log (another cluster
id, or a partition that now ends below the stored position) starts a new *generation*
(``progress.IngestProgress``): positions under new tracking names, read from the new log's
start. Re-reading is safe (facts are idempotent by event id); skipping is not.

This is an edge of patient identity (C8): a raw personnummer or samordningsnummer in a
message's ``patient`` field is validated and replaced by its keyed pseudonym while parsing,
and a dead letter carries the message with every identity-number-shaped run replaced (by its
pseudonym when valid, a mask when not), so no raw identifier leaves the inbound topic.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from eventsourcing.persistence import Tracking
from pydantic import ValidationError

from routing.episodes.events import EpisodeEvent, parse_event
from routing.episodes.service import CareEpisodes, EventRejected
from routing.identity import (
    Pseudonymiser,
    pseudonymising,
)
from routing.messaging import broker
from routing.messaging.dead_letters import DeadLetter, DeadLetters, Redactor
from routing.messaging.progress import IngestProgress, ProgressStore
from routing.operations import correlation, metrics, resilience
from routing.persistence.positions import position, position_name

log = logging.getLogger(__name__)


MAX_BYTES = 2 * 1024 * 1024  # as ROUTING_MAX_BODY_BYTES: no fact is larger


CONSUMER = "ingest"  # the first part of its positions' names (routing.persistence.positions)


def tracking_name(topic: str, partition: int, generation: int = 1) -> str:
    """Where a partition's position is stored: the name every consumer's positions take."""
    return position_name(CONSUMER, topic, partition, generation)


class _LogReplaced(Exception):  # noqa: N818 - a signal, handled by the run loop
    """A partition ends below the stored position: the broker lost the log we read."""


def _parse(
    record: ConsumerRecord[bytes, bytes], pseudonymiser: Pseudonymiser | None, max_bytes: int
) -> EpisodeEvent | DeadLetter:
    size = len(record.value or b"")
    if size > max_bytes:
        return DeadLetter(record, "too_large", f"{size} bytes; a fact has at most {max_bytes}")
    try:
        data = _json(record.value)
        if pseudonymiser is None:
            return parse_event(data)
        with pseudonymising(pseudonymiser):
            return parse_event(data)
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"] if str(p) not in ("function-after",))
            return DeadLetter(record, "validation_error", f"{where}: {first['msg']}")
        return DeadLetter(record, "not_json", str(exc))


def _json(value: bytes | None) -> dict[str, Any]:
    if value is None:
        raise ValueError("empty message")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


class Ingest:
    def __init__(
        self,
        service: CareEpisodes,
        bootstrap_servers: str,
        topic: str,
        dead_letter_topic: str,
        *,
        group_id: str = "routing-ingest",
        pseudonymiser: Pseudonymiser | None = None,
        max_bytes: int = MAX_BYTES,
        broker_check_interval: float = 5.0,
        partitions: int = 3,
    ) -> None:
        self.service = service
        self.bootstrap = bootstrap_servers
        self.topic = topic
        self.dead_letter_topic = dead_letter_topic
        self.group_id = group_id
        self.pseudonymiser = pseudonymiser
        self.redactor = Redactor(pseudonymiser)
        self.max_bytes = max_bytes
        self.broker_check_interval = broker_check_interval
        self.topics = [broker.TopicSpec(topic, partitions), broker.TopicSpec(dead_letter_topic, 1)]
        self.progress_store = ProgressStore(service)
        self.progress = IngestProgress(topic)
        self.letters = DeadLetters(bootstrap_servers, dead_letter_topic, topic, self.redactor)
        self.applied = 0

    @property
    def dead_lettered(self) -> int:
        return self.letters.count

    async def run(self, stop: asyncio.Event) -> None:
        self.progress = await asyncio.to_thread(self.progress_store.load_ingest, self.topic)
        consumer = await broker.started_consumer(
            "ingest", self.bootstrap, self.group_id, stop, log,
            max_record_bytes=16 * 1024 * 1024,  # larger than a fact: such a record is dead-lettered
        )  # fmt: skip
        if consumer is None:  # stopped before the broker answered
            return
        watch = broker.ClusterWatch(self.bootstrap)
        try:
            await self.letters.start(self.progress.generation)
            await self._same_log(consumer, watch, stop)  # first run: notes the cluster
            consumer.subscribe([self.topic], listener=_SeekToTracked(self, consumer))
            checked = time.monotonic()
            while not stop.is_set():
                # A stop request lets the batch in hand finish and commit; it never cuts
                # a batch short (its effects are stored atomically anyway).
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                if batches or time.monotonic() - checked > self.broker_check_interval:
                    checked = time.monotonic()
                    if not await self._same_log(consumer, watch, stop, batches):
                        continue  # the records in hand are read again (or from the new log)
                    if not batches and await self._ends_below_tracked(consumer):
                        await self._replaced(consumer, self.progress.cluster_id or "")
                        continue
                try:
                    for tp, records in batches.items():
                        page = functools.partial(self._handle, tp, records, consumer.highwater(tp))
                        await resilience.in_place("ingest page", page)  # a store restart
                except _LogReplaced:
                    await self._replaced(consumer, await watch.cluster_id())
                    continue
                if batches:
                    try:
                        await consumer.commit()  # for lag monitoring only; the store is the truth
                    except KafkaError as exc:  # a rebalance or broker restart under way
                        log.warning("ingest: offset commit failed: %r", exc)
        finally:
            await broker.stopped(consumer)
            await self.letters.stop()
            await watch.close()
            log.info(
                "ingest stopped (%d applied, %d dead-lettered)", self.applied, self.dead_lettered
            )

    async def _same_log(
        self,
        consumer: AIOKafkaConsumer,
        watch: broker.ClusterWatch,
        stop: asyncio.Event,
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] | None = None,
    ) -> bool:
        """Whether the broker is still the cluster the stored positions belong to; while it
        does not answer, asked again (the broker-outage policy). When it is another cluster, a
        new generation starts from the new log's beginning; when ``stop`` came first, the
        records in hand are put back (read again later)."""
        current = await resilience.through_broker_outage("ingest", watch.cluster_id, stop, log)
        if current is None:
            for tp, records in (batches or {}).items():
                consumer.seek(tp, records[0].offset)
            return False
        if self.progress.cluster_id is None:
            self.progress = IngestProgress(self.topic, self.progress.generation, current)
            await asyncio.to_thread(self.progress_store.save_ingest, self.progress)
        if current == self.progress.cluster_id:
            return True
        await self._replaced(consumer, current)
        return False

    async def _ends_below_tracked(self, consumer: AIOKafkaConsumer) -> bool:
        """Whether an idle partition's log now ends below the stored position (a broker that
        lost its log but kept its cluster id answers an empty fetch there, not an error)."""
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            if end is not None and end < await asyncio.to_thread(self.tracked, tp.partition):
                return True
        return False

    async def _replaced(self, consumer: AIOKafkaConsumer, cluster: str) -> None:
        """Starts a new generation: every partition again from the new log's beginning."""
        old = self.progress
        self.progress = old.replaced(cluster)
        log.warning(
            "ingest: %s is a new log (cluster %s -> %s); reading it from its start as "
            "generation %d",
            self.topic, old.cluster_id, cluster, self.progress.generation,
        )  # fmt: skip
        metrics.INGEST_LOG_REPLACED.inc()
        await asyncio.to_thread(self.progress_store.save_ingest, self.progress)
        # A new cluster may not hold our topics yet (a front-end's producer may create the
        # inbound one with the broker's default partitions first: the consumer's metadata,
        # refreshed every few seconds, then finds every partition it has).
        try:
            await broker.ensure_topics(self.bootstrap, self.topics)
        except resilience.BROKER_ERRORS as exc:  # the consumer reads what there is
            log.warning("ingest: could not create the topics on the new log: %r", exc)
        self.letters.new_generation(self.progress.generation)
        await self.letters.catch_up()
        # The listener seeks each partition to this generation's position: the new log's start.
        await broker.rejoin(consumer, self.topic, _SeekToTracked(self, consumer))

    async def _handle(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
        end: int | None,
    ) -> None:
        done = await asyncio.to_thread(self.tracked, tp.partition)
        if end is not None and end < done:
            raise _LogReplaced(f"{tp} ends at {end}, below the stored position {done}")
        fresh = [r for r in records if r.offset + 1 > done]
        if not fresh:
            return
        parsed = [(r, _parse(r, self.pseudonymiser, self.max_bytes)) for r in fresh]
        for letter in [p for _, p in parsed if isinstance(p, DeadLetter)]:
            await self.letters.send(letter, _correlation_id(letter.record))
        valid = [(r, p) for r, p in parsed if not isinstance(p, DeadLetter)]
        at = (CONSUMER, tp.topic, tp.partition, self.progress.generation)
        tracking = position(*at, fresh[-1].offset + 1)
        ids = [_correlation_id(r) for r, _ in valid]
        try:
            await self._record([p for _, p in valid], tracking, ids)
        except EventRejected:
            # One fact of the page was refused: apply them one by one to isolate it.
            for (record, event), cid in zip(valid, ids, strict=True):
                one = position(*at, record.offset + 1)
                try:
                    await self._record([event], one, [cid])
                except EventRejected as rejected:
                    await self.letters.send(
                        DeadLetter(record, rejected.code, rejected.message), cid
                    )
                    await asyncio.to_thread(self._track_only, one)
            await asyncio.to_thread(self._track_only, tracking)

    async def _record(self, events: list[EpisodeEvent], tracking: Tracking, ids: list[str]) -> None:
        """Records under the messages' correlation ids (stored with each fact, logged)."""
        token = correlation.set_current(correlation.for_batch(events, ids))
        try:
            results = await asyncio.to_thread(self.service.record_batch, events, tracking=tracking)
        finally:
            correlation.reset(token)
        self.applied += len(events)
        metrics.count_accepted(
            "inbound", (e.type for e, r in zip(events, results, strict=True) if not r.replayed)
        )

    @resilience.patiently  # a store restart: wait here, keeping the group membership
    def tracked(self, partition: int) -> int:
        """Offset + 1 of the last message of ``partition`` whose effects are stored."""
        return self.tracked_by_name(tracking_name(self.topic, partition, self.progress.generation))

    @resilience.patiently
    def _track_only(self, tracking: Tracking) -> None:
        if self.tracked_by_name(tracking.application_name) < tracking.notification_id:
            self.service.recorder.insert_tracking(tracking)

    def tracked_by_name(self, name: str) -> int:
        return int(self.service.recorder.max_tracking_id(name) or 0)


def _correlation_id(record: ConsumerRecord[bytes, bytes]) -> str:
    """The producer's id (header ``correlation-id``, ``x-request-id`` or ``traceparent``),
    else one derived from the message's position: stable across redeliveries."""
    given = correlation.from_headers(record.headers or ())
    return given or f"kafka-{record.topic}-{record.partition}-{record.offset}"


class _SeekToTracked(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, resume each partition where the store says we are, not where Kafka does."""

    def __init__(self, ingest: Ingest, consumer: AIOKafkaConsumer) -> None:
        self.ingest, self.consumer = ingest, consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        for tp in assigned:
            self.consumer.seek(tp, await asyncio.to_thread(self.ingest.tracked, tp.partition))
        # Letters another member (or this process before a crash) sent since the last look.
        try:
            await asyncio.wait_for(self.ingest.letters.catch_up(), timeout=30)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("ingest: could not read the dead-letter topic: %r", exc)
