"""Inbound topic consumer: front-ends may produce facts to Kafka instead of calling HTTP.

Each message is validated with the same models as the API and recorded with the same
service. Its Kafka position (offset + 1, per partition) is written in the same transaction as
the facts it caused, so a redelivered message is recognised and skipped: exactly-once
effects without Kafka transactions. Anything that cannot be applied (not JSON, not a valid
event, refused by a journey rule, an event id reused with another body) goes to the
dead-letter topic with its original bytes and headers naming the reason; the consumer carries on.

This is an edge of patient identity (C8): a raw personnummer or samordningsnummer in a
message's ``patient`` field is validated and replaced by its keyed pseudonym while parsing,
and a dead letter carries the message with every identity-number-shaped run replaced (by its
pseudonym when valid, a mask when not), so no raw identifier leaves the inbound topic.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from eventsourcing.persistence import Tracking
from pydantic import ValidationError

from routing.episodes.events import EpisodeEvent, parse_event
from routing.episodes.service import CareEpisodes, EventRejected
from routing.identity import (
    InvalidIdentityNumber,
    Pseudonymiser,
    looks_like_identity_number,
    pseudonymising,
    redact_identity_numbers,
)
from routing.operations import correlation, metrics, resilience

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    record: ConsumerRecord[bytes, bytes]
    code: str
    reason: str


def tracking_name(topic: str, partition: int) -> str:
    return f"ingest:{topic}:{partition}"


def _parse(
    record: ConsumerRecord[bytes, bytes], pseudonymiser: Pseudonymiser | None
) -> EpisodeEvent | DeadLetter:
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
    import orjson

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
    ) -> None:
        self.service = service
        self.bootstrap = bootstrap_servers
        self.topic = topic
        self.dead_letter_topic = dead_letter_topic
        self.group_id = group_id
        self.pseudonymiser = pseudonymiser
        self.applied = 0
        self.dead_lettered = 0

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,  # the default 500 ms is most of the end-to-end lag
        )
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        await consumer.start()
        consumer.subscribe([self.topic], listener=_SeekToTracked(self, consumer))
        try:
            while not stop.is_set():
                # A stop request lets the batch in hand finish and commit; it never cuts
                # a batch short (its effects are stored atomically anyway).
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                for tp, records in batches.items():
                    await self._handle(tp, records, producer)
                if batches:
                    try:
                        await consumer.commit()  # for lag monitoring only; the store is the truth
                    except KafkaError as exc:  # a rebalance or broker restart under way
                        log.warning("ingest: offset commit failed: %r", exc)
        finally:
            await consumer.stop()
            await producer.stop()
            log.info(
                "ingest stopped (%d applied, %d dead-lettered)", self.applied, self.dead_lettered
            )

    async def _handle(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
        producer: AIOKafkaProducer,
    ) -> None:
        done = await asyncio.to_thread(self.tracked, tp.partition)
        fresh = [r for r in records if r.offset + 1 > done]
        if not fresh:
            return
        parsed = [(r, _parse(r, self.pseudonymiser)) for r in fresh]
        dead = [p for _, p in parsed if isinstance(p, DeadLetter)]
        for letter in dead:
            await self._dead_letter(producer, letter)
        valid = [(r, p) for r, p in parsed if not isinstance(p, DeadLetter)]
        tracking = Tracking(tracking_name(tp.topic, tp.partition), fresh[-1].offset + 1)
        ids = [_correlation_id(r) for r, _ in valid]
        try:
            await self._record([p for _, p in valid], tracking, ids)
        except EventRejected:
            # One fact of the page was refused: apply them one by one to isolate it.
            for (record, event), cid in zip(valid, ids, strict=True):
                one = Tracking(tracking_name(tp.topic, tp.partition), record.offset + 1)
                try:
                    await self._record([event], one, [cid])
                except EventRejected as rejected:
                    await self._dead_letter(
                        producer, DeadLetter(record, rejected.code, rejected.message)
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
        name = tracking_name(self.topic, partition)
        return int(self.service.recorder.max_tracking_id(name) or 0)

    @resilience.patiently
    def _track_only(self, tracking: Tracking) -> None:
        if self.tracked_by_name(tracking.application_name) < tracking.notification_id:
            self.service.recorder.insert_tracking(tracking)

    def tracked_by_name(self, name: str) -> int:
        return int(self.service.recorder.max_tracking_id(name) or 0)

    async def _dead_letter(self, producer: AIOKafkaProducer, letter: DeadLetter) -> None:
        r = letter.record
        reason = self._redact(letter.reason)
        log.warning(
            "ingest: %s:%d@%d dead-lettered (%s): %s",
            r.topic, r.partition, r.offset, letter.code, reason,
            extra={"correlation_id": _correlation_id(r)},
        )  # fmt: skip
        headers = [
            *((k, self._redact_bytes(v)) for k, v in (r.headers or ())),
            ("dlq-reason-code", letter.code.encode()),
            ("dlq-reason", reason.encode()[:2000]),
            ("dlq-original-topic", r.topic.encode()),
            ("dlq-original-partition", str(r.partition).encode()),
            ("dlq-original-offset", str(r.offset).encode()),
        ]
        await producer.send_and_wait(
            self.dead_letter_topic,
            key=self._redact_bytes(r.key),
            value=self._redact_bytes(r.value),
            headers=headers,
        )
        self.dead_lettered += 1
        metrics.DEAD_LETTERS.labels(letter.code).inc()

    def _redact(self, text: str) -> str:
        if self.pseudonymiser is None:
            return redact_identity_numbers(text)
        return self.pseudonymiser.redact(text)

    def _redact_bytes(self, value: bytes | None) -> bytes | None:
        """The original bytes, unless they hold an identity number: a ``patient`` shaped like
        one (valid: its pseudonym; invalid: masked) or a valid one anywhere else."""
        if value is None:
            return None
        text = value.decode("utf-8", errors="replace")
        redacted = self._redact(_mask_patient(text, self.pseudonymiser))
        return value if redacted == text else redacted.encode()


def _correlation_id(record: ConsumerRecord[bytes, bytes]) -> str:
    """The producer's id (header ``correlation-id``, ``x-request-id`` or ``traceparent``),
    else one derived from the message's position: stable across redeliveries."""
    given = correlation.from_headers(record.headers or ())
    return given or f"kafka-{record.topic}-{record.partition}-{record.offset}"


def _mask_patient(text: str, pseudonymiser: Pseudonymiser | None) -> str:
    """A JSON message's ``patient`` value, if shaped like an identity number, replaced where
    it occurs as a JSON string: even a wrong one is one digit from someone's number."""
    import orjson

    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    patient = data.get("patient") if isinstance(data, dict) else None
    if not isinstance(patient, str) or not looks_like_identity_number(patient):
        return text
    try:
        replacement = pseudonymiser.pseudonym(patient) if pseudonymiser else "[redacted]"
    except InvalidIdentityNumber:
        replacement = "[redacted]"
    return text.replace(f'"{patient}"', f'"{replacement}"')


class _SeekToTracked(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, resume each partition where the store says we are, not where Kafka does."""

    def __init__(self, ingest: Ingest, consumer: AIOKafkaConsumer) -> None:
        self.ingest, self.consumer = ingest, consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        for tp in assigned:
            self.consumer.seek(tp, await asyncio.to_thread(self.ingest.tracked, tp.partition))
