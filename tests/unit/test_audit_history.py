"""History as it was known, as it was, and what was learnt late (bitemporal reading)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from routing.audit import service as audit
from routing.audit.history import learnt_between
from routing.episodes.service import CareEpisodes, EpisodeNotFound
from routing.liability.rulebooks import RulebookPolicy
from tests import support as f
from tests.audit_support import record

POLICY = RulebookPolicy()


def _tick() -> datetime:
    """A knowledge time strictly between two writes."""
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment


@pytest.fixture
def late_assessment() -> tuple[CareEpisodes, str, datetime, datetime, datetime]:
    """A journey whose need-and-suitability assessment is documented after the contact."""
    service = CareEpisodes(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    journey = f.typical_journey()
    assessment = journey.pop(2)
    before = _tick()
    record(service, journey)
    t1 = _tick()
    record(service, [assessment])
    t2 = _tick()
    return service, journey[0]["episode_id"], before, t1, t2


def test_as_known_folds_only_what_was_recorded_then(late_assessment: tuple) -> None:  # type: ignore[type-arg]
    service, episode, before, t1, t2 = late_assessment
    eid = UUID(episode)
    then = audit.episode_known_at(service, eid, t1, POLICY)
    now = audit.episode_known_at(service, eid, t2, POLICY)
    assert [e.type for e in then.facts].count("need_and_suitability_assessed") == 0
    assert len(now.facts) == len(then.facts) + 1
    assert then.state is not None
    assert then.state.assessments == 0
    assert now.state is not None
    assert now.state.assessments == 1
    # What the liability decision was then, and is now: the late assessment changed it.
    assert [d.contact_id for d in then.decisions] == ["c1"] == [d.contact_id for d in now.decisions]
    assert then.decisions[0].trace != now.decisions[0].trace, "the assessment was weighed"
    nothing = audit.episode_known_at(service, eid, before, POLICY)
    assert nothing.facts == []
    assert nothing.state is None
    assert nothing.decisions == []


def test_as_occurred_uses_valid_time_including_facts_learnt_late(late_assessment: tuple) -> None:  # type: ignore[type-arg]
    service, episode, _, _, _ = late_assessment
    at = f.T0 + timedelta(minutes=2, seconds=30)  # request, triage, assessment
    view = audit.episode_occurred_by(service, UUID(episode), at, POLICY)
    assert sorted(e.type for e in view.facts) == [
        "contact_requested", "need_and_suitability_assessed", "triage_completed",
    ]  # fmt: skip
    assert view.decisions == [], "no contact completed by then"


def test_learnt_between_marks_what_was_learnt_late(late_assessment: tuple) -> None:  # type: ignore[type-arg]
    service, episode, before, t1, t2 = late_assessment
    learnt = audit.episode_learnt(service, UUID(episode), t1, t2)
    assert [(x.entry.type, x.late) for x in learnt] == [("need_and_suitability_assessed", True)]
    everything = audit.episode_learnt(service, UUID(episode), before, t2)
    assert len(everything) == 11
    assert all(x.late for x in everything), "T0 lies before `before`: all of it was learnt late"
    assert learnt_between(service.history(UUID(episode)), t2, t1) == [], "an empty interval"
    with pytest.raises(EpisodeNotFound):
        audit.episode_known_at(service, UUID(int=1), t2, POLICY)
