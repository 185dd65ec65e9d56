"""Every routing decision is stored for audit, once per request id.

A retry with the same request id and question gets the answer given the first time (even if
reference data changed since: the audit trail shows what the client was told); the same
request id with another question is refused.

The stored event is the library's own (``RoutingDecisionRecord``, readable with
``repository.get``), but its bytes are written here directly: the question and the answer are
serialised once, by pydantic's Rust serialiser, and embedded as they are, and the same answer
bytes are sent to the client. Building an aggregate per decision and dumping both models to
dicts for the transcoder cost more than deciding from the decision cache: 60 µs a decision
against 27 µs written here, a cache hit 8 µs, ``advise`` uncached 229 µs
(``python benchmarks/overrides.py --only decisions --rounds 21``, medians); a test holds these
bytes equal to what the library's mapper writes for the same event.

An answer filled from a template (``template.py``, the decision cache's) is stored by the
template's digest, and the template once, as its own aggregate in the same transaction as the
first decision that uses it. Stored whole, the 4 KB answer took two pages of the store per
decision and about a third of the store's commit work (benchmarks/README.md); the question's
ids fill the template back to the bytes the client got (``answer_given``).
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

from routing.decisions.question import RoutingAnswer, RoutingQuestion
from routing.decisions.template import AnswerTemplate, fill, template_id
from routing.episodes.service import EventRejected
from routing.persistence.chain import sealed

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
        """A decision with its answer stored whole (the decision cache off)."""

        question: dict[str, Any]
        answer: dict[str, Any]
        fingerprint: str

    class RecordedFromTemplate(Aggregate.Created):
        """A decision whose answer is a stored template filled with the question's ids."""

        question: dict[str, Any]
        answer_template: str
        fingerprint: str

    def __init__(
        self,
        question: dict[str, Any],
        fingerprint: str,
        answer: dict[str, Any] | None = None,
        answer_template: str | None = None,
    ) -> None:
        self.question, self.fingerprint = question, fingerprint
        self.answer, self.answer_template = answer, answer_template


class RoutingAnswerTemplate(Aggregate):
    """An answer shared by many decisions, with placeholder ids (``template.py``); its id
    comes from its digest, so it is stored once."""

    class Recorded(Aggregate.Created):
        answer: dict[str, Any]

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer


RECORDED_TOPIC = get_topic(RoutingDecisionRecord.Recorded)
FROM_TEMPLATE_TOPIC = get_topic(RoutingDecisionRecord.RecordedFromTemplate)
RECORD_TOPIC = get_topic(RoutingDecisionRecord)
TEMPLATE_RECORDED_TOPIC = get_topic(RoutingAnswerTemplate.Recorded)
TEMPLATE_TOPIC = get_topic(RoutingAnswerTemplate)


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
    template: AnswerTemplate | None


def pending_decision(
    mapper: Mapper[UUID], q: RoutingQuestion, answer: bytes, template: AnswerTemplate | None
) -> PendingDecision:
    """Built by the request itself, before it joins a group commit: the store's writer
    thread then only inserts and commits, and a request arriving while a commit waits on the
    disk does this work in the meantime."""
    stored = stored_decision(mapper, q, answer, datetime.now(UTC), template)
    return PendingDecision(q, stored, answer, template)


def stored_decision(
    mapper: Mapper[UUID],
    q: RoutingQuestion,
    answer: bytes,
    timestamp: datetime,
    template: AnswerTemplate | None = None,
) -> StoredEvent:
    """The stored form of ``Recorded`` (or ``RecordedFromTemplate`` when the answer was
    filled from ``template``), byte for byte what the mapper would write."""
    question = question_json(q)
    given: dict[str, Any] = (
        {"answer": orjson.Fragment(answer)}
        if template is None
        else {"answer_template": template.digest}
    )
    topic = RECORDED_TOPIC if template is None else FROM_TEMPLATE_TOPIC
    fields = {"question": orjson.Fragment(question), **given, "fingerprint": fingerprint(question)}
    return _stored(mapper, decision_id(q.request_id), topic, RECORD_TOPIC, timestamp, fields)


def stored_template(
    mapper: Mapper[UUID], template: AnswerTemplate, timestamp: datetime
) -> StoredEvent:
    """The stored form of ``RoutingAnswerTemplate.Recorded``."""
    fields = {"answer": orjson.Fragment(template.json)}
    return _stored(mapper, template.id, TEMPLATE_RECORDED_TOPIC, TEMPLATE_TOPIC, timestamp, fields)


def _stored(
    mapper: Mapper[UUID],
    aggregate: UUID,
    topic: str,
    aggregate_topic: str,
    timestamp: datetime,
    fields: dict[str, Any],
) -> StoredEvent:
    """A created event's state in the transcoder's key order: timestamp, the aggregate's
    topic, then the event's own fields."""
    state = orjson.dumps(
        {
            "timestamp": {"_type_": "datetime_iso", "_data_": timestamp.isoformat()},
            "originator_topic": aggregate_topic,
            **fields,
        }
    )
    return sealed(mapper, aggregate, 1, topic, state)


class StoredTemplates:
    """The answer templates this process knows the store holds: each is looked for once,
    and written (in the transaction of the first decision that uses it) only if absent."""

    LIMIT = 100_000
    """Digests remembered; past it the set starts again (costing one read per template)."""

    def __init__(self) -> None:
        self._known: set[str] = set()

    def missing(
        self, app: Application[UUID], pending: list[PendingDecision]
    ) -> dict[str, StoredEvent]:
        """The stored form of each template these decisions use and the store lacks."""
        new: dict[str, StoredEvent] = {}
        for p in pending:
            t = p.template
            if t is None or t.digest in self._known or t.digest in new:
                continue
            if app.recorder.select_events(t.id, limit=1):
                self.remember(t.digest)
            else:
                new[t.digest] = stored_template(app.mapper, t, datetime.now(UTC))
        return new

    def remember(self, digest: str) -> None:
        if len(self._known) >= self.LIMIT:
            self._known.clear()
        self._known.add(digest)


ATTEMPTS = 3
"""Tries to store one decision: its own conflicts are answered, racing writers retried."""


def insert_decisions(
    app: Application[UUID], pending: list[PendingDecision], templates: StoredTemplates
) -> list[Decided]:
    """Stores the decisions, and the templates they need, in one transaction.

    A conflict in a group of several raises ``RecordConflictError`` with nothing stored: the
    group commit then records each decision on its own (``api/writer.py``), so one retried or
    reused request id never changes its neighbours' answers. A single decision's conflict is
    either its request id, stored before (a retry: the first answer; or another question: a
    409), or its template, stored meanwhile by another writer (looked for again, it is found,
    and the decision is stored). ``ATTEMPTS`` bounds that, against writers racing on both."""
    if len(pending) > 1:
        _store(app, pending, templates)
        return [Decided(p.answer, False) for p in pending]
    for _ in range(ATTEMPTS - 1):
        try:
            _store(app, pending, templates)
            return [Decided(pending[0].answer, False)]
        except RecordConflictError:
            earlier = _earlier(app, pending[0].q)
            if earlier is not None:
                return [earlier]
    _store(app, pending, templates)
    return [Decided(pending[0].answer, False)]


def _store(
    app: Application[UUID], pending: list[PendingDecision], templates: StoredTemplates
) -> None:
    new = templates.missing(app, pending)
    app.recorder.insert_events([*new.values(), *(p.stored for p in pending)])
    for digest in new:
        templates.remember(digest)


def _earlier(app: Application[UUID], q: RoutingQuestion) -> Decided | None:
    stored = app.recorder.select_events(decision_id(q.request_id), lte=1, limit=1)
    if not stored:
        return None
    first = app.mapper.to_domain_event(stored[0])
    assert isinstance(
        first, RoutingDecisionRecord.Recorded | RoutingDecisionRecord.RecordedFromTemplate
    )
    if first.fingerprint != fingerprint(question_json(q)):
        raise EventRejected(
            0, "request_id_reused",
            f"request {q.request_id} was already answered for another question", "request_id",
        )  # fmt: skip
    return Decided(answer_given(app, first), True)


def answer_given(
    app: Application[UUID],
    decision: RoutingDecisionRecord.Recorded | RoutingDecisionRecord.RecordedFromTemplate,
) -> bytes:
    """The answer's JSON as the client got it: stored whole, or its template filled with
    the question's ids."""
    if isinstance(decision, RoutingDecisionRecord.Recorded):
        return orjson.dumps(decision.answer)
    (stored,) = app.recorder.select_events(template_id(decision.answer_template), lte=1, limit=1)
    template = app.mapper.to_domain_event(stored)
    assert isinstance(template, RoutingAnswerTemplate.Recorded)
    question = decision.question
    episode = question.get("episode_id")
    return fill(
        orjson.dumps(template.answer),
        UUID(question["request_id"]),
        UUID(episode) if episode is not None else None,
    )
