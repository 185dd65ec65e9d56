"""POST /routing/decisions on every store: answered, recorded once per request id, and bad
input refused with the field named and nothing stored."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from routing.decisions.record import (
    RoutingAnswerTemplate,
    RoutingDecisionRecord,
    answer_given,
    decision_id,
)
from routing.decisions.template import template_id
from routing.episodes.service import CareEpisodes


def _question(**over: Any) -> dict[str, Any]:
    return {
        "request_id": str(uuid4()),
        "planned_start": "2025-11-03T10:00:00+01:00",
        "home_region": {"county": "14", "municipality": "1480"},
        "care_region": "04",
        "requested_mode": "chat",
        **over,
    }


def test_decision_is_answered_and_recorded(client: TestClient, episodes: CareEpisodes) -> None:
    before = episodes.event_count()
    q = _question()
    r = client.post("/routing/decisions", json=q)
    assert r.status_code == 200
    body = r.json()
    assert body["distance_offer"]["must_offer"] is True
    assert body["own_region_first"]["applies"] is True
    assert body["assessment_needed_for_home_region_to_pay"] is True
    assert body["trace"]
    # The first decision of its kind also stores its answer's template...
    assert episodes.event_count() == before + 2
    assert _given(episodes, q) == r.content
    same_facts = _question()
    again = client.post("/routing/decisions", json=same_facts)
    # ...which the next one of the same kind refers to: one record more.
    assert episodes.event_count() == before + 3
    assert _given(episodes, same_facts) == again.content
    assert again.content != r.content  # each answer names its own request
    decision: object = episodes.repository.get(decision_id(UUID(same_facts["request_id"])))
    assert isinstance(decision, RoutingDecisionRecord)
    assert decision.answer is None
    assert decision.answer_template is not None
    template: object = episodes.repository.get(template_id(decision.answer_template))
    assert isinstance(template, RoutingAnswerTemplate)


def _given(episodes: CareEpisodes, q: dict[str, Any]) -> bytes:
    """The answer as the audit record gives it back."""
    (stored,) = episodes.recorder.select_events(decision_id(UUID(q["request_id"])), limit=1)
    decision = episodes.mapper.to_domain_event(stored)
    assert isinstance(decision, RoutingDecisionRecord.RecordedFromTemplate)
    return answer_given(episodes, decision)


def test_retry_gets_the_first_answer_and_stores_nothing(
    client: TestClient, episodes: CareEpisodes
) -> None:
    q = _question()
    first = client.post("/routing/decisions", json=q)
    count = episodes.event_count()
    again = client.post("/routing/decisions", json=q)
    assert again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.content == first.content  # the stored bytes, as first given
    assert episodes.event_count() == count


def test_same_request_id_with_another_question_is_409(
    client: TestClient, episodes: CareEpisodes
) -> None:
    q = _question()
    client.post("/routing/decisions", json=q)
    count = episodes.event_count()
    r = client.post("/routing/decisions", json={**q, "requested_mode": "video"})
    assert r.status_code == 409
    assert (r.json()["code"], r.json()["field"]) == ("request_id_reused", "request_id")
    assert episodes.event_count() == count


def test_invalid_questions_name_the_field_and_store_nothing(
    client: TestClient, episodes: CareEpisodes
) -> None:
    count = episodes.event_count()
    cases = {
        "planned_start": {"planned_start": "2025-11-03T10:00:00"},
        "home_region": {"home_region": {"county": "14", "municipality": "0180"}},
        "care_region": {"care_region": "02"},
        "requested_mode": {"requested_mode": "telepathy"},
        "surprise": {"surprise": True},
    }
    for field, over in cases.items():
        r = client.post("/routing/decisions", json=_question(**over))
        assert r.status_code == 422, field
        assert r.json()["field"].startswith(field), (field, r.json())
    assert episodes.event_count() == count
