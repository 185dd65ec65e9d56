"""The audit records of routing decisions (src/routing/decisions/record.py), on every store:
the library's own bytes, answers stored whole or by template, each template once, and the
answer read back equal to what the client got."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson

from api.writer import GroupCommitWriter
from routing.audit.reading import FactReader
from routing.config import Settings, StoreKind
from routing.decisions.advise import advise
from routing.decisions.cache import DecisionCache
from routing.decisions.question import RoutingQuestion
from routing.decisions.record import (
    FROM_TEMPLATE_TOPIC,
    TEMPLATE_RECORDED_TOPIC,
    Decided,
    PendingDecision,
    RoutingAnswerTemplate,
    RoutingDecisionRecord,
    StoredTemplates,
    answer_given,
    answer_json,
    decision_id,
    insert_decisions,
    pending_decision,
    stored_decision,
    stored_template,
)
from routing.episodes.service import CareEpisodes, EventRejected
from routing.persistence.chained import check_chain
from routing.reference import load_reference_data
from routing.reference.regions import load_regions
from routing.store import open_episodes
from tests.auth_support import TEST_KEYS

POLICY = Settings(_env_file=None).rulebook_policy()  # type: ignore[call-arg]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _question(**over: Any) -> RoutingQuestion:
    return RoutingQuestion.model_validate(
        {
            "request_id": str(uuid4()),
            "planned_start": "2025-11-03T10:00:00+01:00",
            "home_region": {"county": "01", "municipality": "0180"},
            "requested_mode": "video",
            "care_region": "04",
            **over,
        }
    )


def _pending(app: CareEpisodes, cache: DecisionCache, q: RoutingQuestion) -> PendingDecision:
    given = cache.given(q, POLICY, load_reference_data(), load_regions())
    return pending_decision(app.mapper, q, given.body, given.template)


def _answer_read_back(app: CareEpisodes, q: RoutingQuestion) -> bytes:
    (stored,) = app.recorder.select_events(decision_id(q.request_id), limit=1)
    decision = app.mapper.to_domain_event(stored)
    assert isinstance(
        decision, RoutingDecisionRecord.Recorded | RoutingDecisionRecord.RecordedFromTemplate
    )
    return answer_given(app, decision)


def _count(app: CareEpisodes, topic: str) -> int:
    notes = app.recorder.select_notifications(start=1, limit=10_000)
    return sum(1 for n in notes if n.topic == topic)


def test_decision_bytes_are_what_the_library_would_store() -> None:
    """Both hand-built forms equal the mapper's, and read back as the aggregates."""
    app = open_episodes(
        Settings(store=StoreKind.memory, _env_file=None, **TEST_KEYS)  # type: ignore[call-arg]
    )
    q = _question(episode_id=str(uuid4()))
    a = advise(q, POLICY, load_reference_data(), load_regions())
    whole = stored_decision(app.mapper, q, answer_json(a), NOW)
    fingerprint = orjson.loads(whole.state)["fingerprint"]
    template = DecisionCache(8).given(q, POLICY, load_reference_data(), load_regions()).template
    assert template is not None
    by_template = stored_decision(app.mapper, _question(), b"", NOW, template)
    stored_answer = stored_template(app.mapper, template, NOW)
    expected = [
        (whole, RoutingDecisionRecord, RoutingDecisionRecord.Recorded,
         {"question": q.model_dump(mode="json"), "answer": a.model_dump(mode="json"),
          "fingerprint": fingerprint}),
        (by_template, RoutingDecisionRecord, RoutingDecisionRecord.RecordedFromTemplate,
         {"question": orjson.loads(by_template.state)["question"],
          "answer_template": template.digest,
          "fingerprint": orjson.loads(by_template.state)["fingerprint"]}),
        (stored_answer, RoutingAnswerTemplate, RoutingAnswerTemplate.Recorded,
         {"answer": orjson.loads(template.json)}),
    ]  # fmt: skip
    for ours, aggregate, event_class, fields in expected:
        record = aggregate._create(event_class, id=ours.originator_id, **fields)
        (event,) = record.collect_events()
        object.__setattr__(event, "timestamp", NOW)
        theirs = app.mapper.to_stored_event(event)
        assert (ours.topic, ours.originator_version) == (theirs.topic, theirs.originator_version)
        assert orjson.loads(ours.state) == orjson.loads(theirs.state)
    app.recorder.insert_events([stored_answer, whole, by_template])
    assert app.repository.get(decision_id(q.request_id)).answer == a.model_dump(mode="json")
    assert app.repository.get(UUID(str(by_template.originator_id))).answer_template == (
        template.digest
    )
    assert app.repository.get(template.id).answer == orjson.loads(template.json)
    app.close()


def test_answers_read_back_as_given_and_each_template_is_stored_once(
    episodes: CareEpisodes,
) -> None:
    cache, templates = DecisionCache(64), StoredTemplates()
    questions = [_question() for _ in range(3)] + [_question(requested_mode="chat")]
    questions.append(_question(episode_id=str(uuid4())))
    pending = [_pending(episodes, cache, q) for q in questions]
    decided = insert_decisions(episodes, pending, templates)
    assert [d.answer for d in decided] == [p.answer for p in pending]
    assert not any(d.replayed for d in decided)
    # video without an episode, chat, video with an episode: three answers, three templates
    assert _count(episodes, TEMPLATE_RECORDED_TOPIC) == 3
    assert _count(episodes, FROM_TEMPLATE_TOPIC) == 5
    for q, p in zip(questions, pending, strict=True):
        assert _answer_read_back(episodes, q) == p.answer
    # Another process (its own ledger) finds the templates stored and writes none again.
    later = _question()
    insert_decisions(episodes, [_pending(episodes, DecisionCache(64), later)], StoredTemplates())
    assert _count(episodes, TEMPLATE_RECORDED_TOPIC) == 3
    assert _answer_read_back(episodes, later) == cache.answer(
        later, POLICY, load_reference_data(), load_regions()
    )


def test_a_retry_and_a_reused_id_in_a_group_leave_the_rest_first_answers(
    episodes: CareEpisodes,
) -> None:
    """Through the group commit, as the API records them: the shared transaction conflicts,
    nothing of it is stored, and each decision is then recorded on its own."""
    cache = DecisionCache(64)
    first = _question()
    reused = _question(request_id=str(first.request_id), profession="nurse")
    fresh = [_question(requested_mode="phone"), _question(requested_mode="phone")]
    writer = GroupCommitWriter(episodes)

    async def decide(questions: list[RoutingQuestion]) -> list[Decided | BaseException]:
        pending = [_pending(episodes, cache, q) for q in questions]
        return await asyncio.gather(
            *(writer.decisions.submit(p) for p in pending), return_exceptions=True
        )

    try:
        (original,) = asyncio.run(decide([first]))
        decided = asyncio.run(decide([fresh[0], first, reused, fresh[1]]))
    finally:
        writer.close()
    assert isinstance(original, Decided)
    assert isinstance(decided[1], Decided)
    assert decided[1].replayed
    assert decided[1].answer == original.answer
    assert isinstance(decided[2], EventRejected)
    assert (decided[2].code, decided[2].field) == ("request_id_reused", "request_id")
    for q, d in zip(fresh, (decided[0], decided[3]), strict=True):
        assert isinstance(d, Decided)
        assert not d.replayed  # a first answer, not marked as a retry's
        assert _answer_read_back(episodes, q) == d.answer
    assert _count(episodes, TEMPLATE_RECORDED_TOPIC) == 2
    assert check_chain(episodes.recorder).intact


def test_a_retry_of_a_decision_stored_whole_gets_it_and_stores_no_template(
    episodes: CareEpisodes,
) -> None:
    """Records written with the cache off (or before templates) still answer retries."""
    q = _question()
    (whole,) = insert_decisions(
        episodes, [_pending(episodes, DecisionCache(0), q)], StoredTemplates()
    )
    retry = _pending(episodes, DecisionCache(64), q)
    assert retry.template is not None
    (again,) = insert_decisions(episodes, [retry], StoredTemplates())
    assert again.replayed
    assert again.answer == whole.answer
    assert _count(episodes, TEMPLATE_RECORDED_TOPIC) == 0


def test_decision_records_are_chained_and_are_not_facts(episodes: CareEpisodes) -> None:
    for cache in (DecisionCache(64), DecisionCache(0)):
        insert_decisions(episodes, [_pending(episodes, cache, _question())], StoredTemplates())
    report = check_chain(episodes.recorder)
    assert report.intact
    assert report.checked == 3  # a template and two decisions
    assert list(FactReader(episodes).facts()) == []


class _Raced(StoredTemplates):
    """Other writers store their decisions between this one's look and its insert, one
    rival per look."""

    def __init__(self, *rivals: PendingDecision) -> None:
        super().__init__()
        self.rivals = list(rivals)

    def missing(self, app: Any, pending: list[PendingDecision]) -> dict[str, Any]:
        new = super().missing(app, pending)
        if self.rivals:
            insert_decisions(app, [self.rivals.pop(0)], StoredTemplates())
        return new


def test_a_template_stored_meanwhile_by_another_writer_is_not_an_error(
    episodes: CareEpisodes,
) -> None:
    cache = DecisionCache(64)
    ours, theirs = _question(), _question()
    raced = _Raced(_pending(episodes, cache, theirs))
    (decided,) = insert_decisions(episodes, [_pending(episodes, cache, ours)], raced)
    assert not decided.replayed
    assert _count(episodes, TEMPLATE_RECORDED_TOPIC) == 1
    assert _answer_read_back(episodes, ours) == decided.answer
    assert _answer_read_back(episodes, theirs) != decided.answer  # its own request id


def test_a_template_race_then_the_same_request_from_another_worker_is_a_retry(
    episodes: CareEpisodes,
) -> None:
    """First another writer stores the template, then another worker the same request (a
    client retry that went elsewhere): the second conflict is that retry, answered as one."""
    cache = DecisionCache(64)
    ours = _question()
    raced = _Raced(_pending(episodes, cache, _question()), _pending(episodes, cache, ours))
    (decided,) = insert_decisions(episodes, [_pending(episodes, cache, ours)], raced)
    assert decided.replayed
    assert decided.answer == _answer_read_back(episodes, ours)
    assert _count(episodes, TEMPLATE_RECORDED_TOPIC) == 1
    assert _count(episodes, FROM_TEMPLATE_TOPIC) == 2


def test_with_the_cache_off_the_answer_is_stored_whole(episodes: CareEpisodes) -> None:
    off = DecisionCache(0)
    q = _question()
    p = _pending(episodes, off, q)
    assert p.template is None
    (decided,) = insert_decisions(episodes, [p], StoredTemplates())
    assert _count(episodes, TEMPLATE_RECORDED_TOPIC) == 0
    assert _answer_read_back(episodes, q) == decided.answer
    (again,) = insert_decisions(episodes, [_pending(episodes, off, q)], StoredTemplates())
    assert again.replayed
    assert again.answer == decided.answer
    assert isinstance(episodes.repository.get(decision_id(q.request_id)), RoutingDecisionRecord)
    assert UUID(orjson.loads(decided.answer)["request_id"]) == q.request_id
