"""Every routing decision is stored for audit, once per request id.

A retry with the same request id and question gets the answer given the first time (even if
reference data changed since: the audit trail shows what the client was told); the same
request id with another question is refused.

The stored event is the library's own ``RoutingDecisionRecord.Recorded`` (readable with
``repository.get``), but its bytes are written here directly: the question and the answer are
serialised once, by pydantic's Rust serialiser, and embedded as they are, and the same answer
bytes are sent to the client. Building an aggregate per decision and dumping both models to
dicts for the transcoder cost more than deciding (benchmarks/decisions.py); a test holds these
bytes equal to what the library's mapper writes for the same event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, RecordConflictError, StoredEvent
from eventsourcing.utils import get_topic

from routing.audit.chain import ChainedStoredEvent, content_digest
from routing.decisions.question import RoutingAnswer, RoutingQuestion
from routing.episodes.service import EventRejected

DECISION_NAMESPACE = uuid5(NAMESPACE_URL, "urn:routing:routing-decision")


def decision_id(request_id: UUID) -> UUID:
    return uuid5(DECISION_NAMESPACE, str(request_id))


def question_json(q: RoutingQuestion) -> bytes:
    """Canonical bytes of a question: pydantic writes fields in declaration order."""
    return RoutingQuestion.__pydantic_serializer__.to_json(q)


def answer_json(a: RoutingAnswer) -> bytes:
    return RoutingAnswer.__pydantic_serializer__.to_json(a)


def fingerprint(question: bytes) -> str:
    return hashlib.sha256(question).hexdigest()


class RoutingDecisionRecord(Aggregate):
    class Recorded(Aggregate.Created):
        question: dict[str, Any]
        answer: dict[str, Any]
        fingerprint: str

    def __init__(self, question: dict[str, Any], answer: dict[str, Any], fingerprint: str) -> None:
        self.question, self.answer, self.fingerprint = question, answer, fingerprint


RECORDED_TOPIC = get_topic(RoutingDecisionRecord.Recorded)
RECORD_TOPIC = get_topic(RoutingDecisionRecord)


@dataclass(frozen=True)
class Decided:
    answer: bytes
    """The answer as JSON, exactly as stored (and as first given, for a replay)."""
    replayed: bool


@dataclass(frozen=True)
class PendingDecision:
    """A decision serialised for the store, waiting for its transaction."""

    q: RoutingQuestion
    stored: StoredEvent
    answer: bytes


def pending_decision(mapper: Mapper[UUID], q: RoutingQuestion, answer: bytes) -> PendingDecision:
    """Built by the request itself, before it joins a group commit: the store's writer
    thread then only inserts and commits, and a request arriving while a commit waits on the
    disk does this work in the meantime."""
    return PendingDecision(q, stored_decision(mapper, q, answer, datetime.now(UTC)), answer)


def stored_decision(
    mapper: Mapper[UUID], q: RoutingQuestion, answer: bytes, timestamp: datetime
) -> StoredEvent:
    """The stored form of ``Recorded``, byte for byte what the mapper would write."""
    question = question_json(q)
    state = orjson.dumps(
        {
            "timestamp": {"_type_": "datetime_iso", "_data_": timestamp.isoformat()},
            "originator_topic": RECORD_TOPIC,
            "question": orjson.Fragment(question),
            "answer": orjson.Fragment(answer),
            "fingerprint": fingerprint(question),
        }
    )
    content = content_digest(state)
    if mapper.compressor:
        state = mapper.compressor.compress(state)
    if mapper.cipher:
        state = mapper.cipher.encrypt(state)
    return ChainedStoredEvent(
        originator_id=decision_id(q.request_id),
        originator_version=1,
        topic=RECORDED_TOPIC,
        state=state,
        content=content,
    )


def insert_decisions(app: Application[UUID], pending: list[PendingDecision]) -> list[Decided]:
    """Stores the decisions in one transaction; a conflict (a retried request id among
    them) is sorted out one by one."""
    try:
        app.recorder.insert_events([p.stored for p in pending])
        return [Decided(p.answer, False) for p in pending]
    except RecordConflictError:
        if len(pending) == 1:
            return [_earlier(app, pending[0].q)]
    return [insert_decisions(app, [p])[0] for p in pending]


def _earlier(app: Application[UUID], q: RoutingQuestion) -> Decided:
    (stored,) = app.recorder.select_events(decision_id(q.request_id), lte=1, limit=1)
    first = app.mapper.to_domain_event(stored)
    assert isinstance(first, RoutingDecisionRecord.Recorded)
    if first.fingerprint != fingerprint(question_json(q)):
        raise EventRejected(
            0, "request_id_reused",
            f"request {q.request_id} was already answered for another question", "request_id",
        )  # fmt: skip
    return Decided(orjson.dumps(first.answer), True)
