"""Every routing decision is stored for audit, once per request id.

A retry with the same request id and question gets the answer given the first time (even if
reference data changed since: the audit trail shows what the client was told); the same
request id with another question is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import orjson
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from routing.decisions.question import RoutingAnswer, RoutingQuestion
from routing.episodes.service import EventRejected

DECISION_NAMESPACE = uuid5(NAMESPACE_URL, "urn:routing:routing-decision")


def decision_id(request_id: UUID) -> UUID:
    return uuid5(DECISION_NAMESPACE, str(request_id))


def _fingerprint(q: RoutingQuestion) -> str:
    return hashlib.sha256(
        orjson.dumps(q.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


class RoutingDecisionRecord(Aggregate):
    class Recorded(Aggregate.Created):
        question: dict[str, Any]
        answer: dict[str, Any]
        fingerprint: str

    def __init__(self, question: dict[str, Any], answer: dict[str, Any], fingerprint: str) -> None:
        self.question, self.answer, self.fingerprint = question, answer, fingerprint

    @classmethod
    def of(cls, q: RoutingQuestion, answer: RoutingAnswer) -> RoutingDecisionRecord:
        return cls._create(
            cls.Recorded,
            id=decision_id(q.request_id),
            question=q.model_dump(mode="json"),
            answer=answer.model_dump(mode="json"),
            fingerprint=_fingerprint(q),
        )


@dataclass(frozen=True)
class Decided:
    answer: dict[str, Any]
    replayed: bool


def record_decisions(
    app: Application[UUID], items: list[tuple[RoutingQuestion, RoutingAnswer]]
) -> list[Decided]:
    """One transaction for all; a conflict (a retried request id among them) is sorted out
    one by one."""
    records = [RoutingDecisionRecord.of(q, a) for q, a in items]
    processing = ProcessingEvent[UUID]()  # filled directly: see CareEpisodes._save
    for record in records:
        processing.events.extend(record.collect_events())
    try:
        app._record(processing)
        return [Decided(r.answer, False) for r in records]
    except RecordConflictError:
        if len(items) == 1:
            return [_earlier(app, *items[0])]
    return [record_decisions(app, [item])[0] for item in items]


def _earlier(app: Application[UUID], q: RoutingQuestion, _: RoutingAnswer) -> Decided:
    stored: RoutingDecisionRecord = app.repository.get(decision_id(q.request_id))
    if stored.fingerprint != _fingerprint(q):
        raise EventRejected(
            0, "request_id_reused",
            f"request {q.request_id} was already answered for another question", "request_id",
        )  # fmt: skip
    return Decided(stored.answer, True)
