"""The dead-letter topic of the inbound consumer: one letter per bad record, whatever restarts.

A letter carries the record's bytes, key and headers with every identity number replaced,
plus headers naming the reason and where the record was. A record too large for the topic
(over ``whole_limit`` bytes with its key and headers; Kafka refuses requests over about
1 MB by default) is dead-lettered as a *reference* instead: reason, original topic /
partition / offset, size, SHA-256 and the first bytes (identifiers redacted first, then cut),
so a partition never stops on a record the dead-letter topic cannot hold.

Idempotent across restarts: a letter is sent before the record's position is stored, so a
crash in between sends it again. Before sending, the writer reads what the dead-letter topic
already holds for this inbound topic and generation (``catch_up``: at start, after a
rebalance, and from where it last read) and sends only what is not there yet.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer, ConsumerRecord

from routing.identity import (
    InvalidIdentityNumber,
    Pseudonymiser,
    looks_like_identity_number,
    redact_identity_numbers,
)
from routing.messaging import broker
from routing.operations import metrics

log = logging.getLogger(__name__)

WHOLE_LIMIT = 512 * 1024
"""Largest letter (key + value + headers) sent whole; the producer's request limit is 1 MiB."""
FIRST_BYTES = 1024
"""How much of an oversized record a reference shows (after redaction)."""
_HEADER_BUDGET = 16 * 1024  # a reference keeps the original headers only below this


@dataclass(frozen=True)
class DeadLetter:
    record: ConsumerRecord[bytes, bytes]
    code: str
    reason: str


class Redactor:
    """Replaces identity numbers in what leaves the inbound topic (C8)."""

    def __init__(self, pseudonymiser: Pseudonymiser | None) -> None:
        self.pseudonymiser = pseudonymiser

    def text(self, text: str) -> str:
        if self.pseudonymiser is None:
            return redact_identity_numbers(text)
        return self.pseudonymiser.redact(text)

    def value(self, value: bytes | None) -> bytes | None:
        """The original bytes, unless they hold an identity number: a ``patient`` shaped like
        one (valid: its pseudonym; invalid: masked) or a valid one anywhere else."""
        if value is None:
            return None
        text = value.decode("utf-8", errors="replace")
        redacted = self.text(_mask_patient(text, self.pseudonymiser))
        return value if redacted == text else redacted.encode()


def _mask_patient(text: str, pseudonymiser: Pseudonymiser | None) -> str:
    """A JSON message's ``patient`` value, if shaped like an identity number, replaced where
    it occurs as a JSON string: even a wrong one is one digit from someone's number."""
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


def _size(record: ConsumerRecord[bytes, bytes]) -> int:
    headers = sum(len(k) + len(v or b"") for k, v in record.headers or ())
    return len(record.value or b"") + len(record.key or b"") + headers


class DeadLetters:
    """Sends dead letters for one inbound topic, at most one per record and generation."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        source_topic: str,
        redactor: Redactor,
        *,
        whole_limit: int = WHOLE_LIMIT,
    ) -> None:
        self.bootstrap, self.topic, self.source_topic = bootstrap, topic, source_topic
        self.redactor, self.whole_limit = redactor, whole_limit
        self.generation = 1
        self.sent: set[tuple[int, int]] = set()  # (partition, offset) of the inbound topic
        self.count = 0  # letters this process sent
        self._read_to: dict[int, int] = {}  # dead-letter partition -> next offset to read
        self._producer: AIOKafkaProducer | None = None

    async def start(self, generation: int) -> None:
        self.generation = generation
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    def new_generation(self, generation: int) -> None:
        """The inbound log was replaced (and the dead-letter topic with it, on a new broker)."""
        self.generation, self.sent, self._read_to = generation, set(), {}

    async def catch_up(self) -> None:
        """Learns the letters already on the topic since the last look."""
        read = await broker.read_records(self.bootstrap, self.topic, self._read_to)
        records, self._read_to = read
        for r in records:
            h = {k: v for k, v in r.headers or ()}
            if h.get("dlq-original-topic", b"").decode() != self.source_topic:
                continue
            if int(h.get("dlq-ingest-generation", b"1")) != self.generation:
                continue
            self.sent.add((int(h["dlq-original-partition"]), int(h["dlq-original-offset"])))

    async def send(self, letter: DeadLetter, correlation_id: str) -> bool:
        """Sends the letter unless the record has one already; True when sent."""
        r = letter.record
        if (r.partition, r.offset) in self.sent:
            return False
        reason = self.redactor.text(letter.reason)
        whole = _size(r) <= self.whole_limit
        log.warning(
            "ingest: %s:%d@%d dead-lettered (%s)%s: %s",
            r.topic, r.partition, r.offset, letter.code,
            "" if whole else f" as a reference ({_size(r)} bytes)", reason,
            extra={"correlation_id": correlation_id},
        )  # fmt: skip
        headers = [
            ("dlq-reason-code", letter.code.encode()),
            ("dlq-reason", reason.encode()[:2000]),
            ("dlq-original-topic", r.topic.encode()),
            ("dlq-original-partition", str(r.partition).encode()),
            ("dlq-original-offset", str(r.offset).encode()),
            ("dlq-ingest-generation", str(self.generation).encode()),
        ]
        if whole:
            value = self.redactor.value(r.value)
            originals = [(k, self.redactor.value(v) or b"") for k, v in r.headers or ()]
        else:
            value, originals = self._reference(letter, reason), []
            headers.append(("dlq-reference", b"true"))
            kept = [(k, self.redactor.value(v) or b"") for k, v in r.headers or ()]
            if sum(len(k) + len(v) for k, v in kept) <= _HEADER_BUDGET:
                originals = kept
        assert self._producer is not None, "start() first"
        key = self.redactor.value(r.key)
        if key is not None and len(key) > FIRST_BYTES:
            key = None  # an oversized key would not fit either: its digest is in the reference
        await self._producer.send_and_wait(
            self.topic, key=key, value=value, headers=[*originals, *headers]
        )
        self.sent.add((r.partition, r.offset))
        self.count += 1
        metrics.DEAD_LETTERS.labels(letter.code).inc()
        return True

    def _reference(self, letter: DeadLetter, reason: str) -> bytes:
        r = letter.record
        value = r.value or b""
        redacted = (self.redactor.value(value) or b"").decode("utf-8", errors="replace")
        body: dict[str, Any] = {
            "dead_letter": "reference",
            "reason_code": letter.code,
            "reason": reason,
            "original": {
                "topic": r.topic,
                "partition": r.partition,
                "offset": r.offset,
                "timestamp": r.timestamp,
            },
            "size": len(value),
            "sha256": hashlib.sha256(value).hexdigest(),
            "key_sha256": hashlib.sha256(r.key).hexdigest() if r.key is not None else None,
            "first_bytes": redacted[:FIRST_BYTES],
        }
        return orjson.dumps(body)
