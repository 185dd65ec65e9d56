"""The decision cache answers, byte for byte, what a fresh ``advise`` would answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.decisions.advise import advise
from routing.decisions.cache import DecisionCache
from routing.decisions.question import RoutingQuestion
from routing.decisions.record import answer_json
from routing.decisions.template import EPISODE, REQUEST
from routing.episodes.vocabulary import CareLevel, ContactMode, Profession, Urgency
from routing.kernel.calendar import STOCKHOLM, swedish_date
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions

CATALOGUE, REGIONS = load_catalogue(), load_regions()
HOMES = [("14", "1480"), ("01", "0180"), ("12", "1280"), ("06", "0680"), ("04", "0480")]
NATIONAL = {"id": "national-digital", "version": "2025.1", "owning_region": None}
POLICIES = [RulebookPolicy(), RulebookPolicy(ds_2023_27_enabled=False)]


def _assessment(draw: Any, start: datetime) -> dict[str, Any] | None:
    kind = draw(st.sampled_from(["none", "suitable", "physical"]))
    if kind == "none":
        return None
    return {
        "criteria_set": NATIONAL,
        "answered_criteria": ["p1", "p2", "p3", "p4", "n1", "n2", "n3"],
        "outcome": "distance_suitable" if kind == "suitable" else "physical_required",
        "failed_principles": [] if kind == "suitable" else ["physical_meeting_required"],
        "assessor_profession": draw(st.sampled_from(["nurse", "doctor"])),
        "assessor_licensed": draw(st.booleans()),
        "occurred_at": (start + timedelta(minutes=draw(st.integers(-600, 600)))).isoformat(),
    }


@st.composite
def questions(draw: Any) -> dict[str, Any]:
    county, municipality = draw(st.sampled_from(HOMES))
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(0, 3 * 365 * 24 * 60))
    )
    start = start.astimezone(STOCKHOLM) if draw(st.booleans()) else start
    urgency = draw(st.none() | st.sampled_from(list(Urgency)))
    return {
        "request_id": str(uuid4()),
        "planned_start": start.isoformat(),
        "episode_id": draw(st.none() | st.just(str(uuid4()))),
        "home_region": {"county": county, "municipality": municipality},
        "care_region": draw(st.none() | st.sampled_from(["01", "04", "14", "12", "25"])),
        "care_level": draw(st.sampled_from(list(CareLevel))).value,
        "requested_mode": draw(st.sampled_from(list(ContactMode))).value,
        "profession": draw(st.sampled_from(list(Profession))).value,
        "triage": None if urgency is None else {"urgency": urgency.value},
        "assessment": _assessment(draw, start),
        "patient_prefers_physical": draw(st.booleans()),
        "can_use_digital_tools": draw(st.booleans()),
    }


def _fresh(q: RoutingQuestion, policy: RulebookPolicy) -> bytes:
    return answer_json(advise(q, policy, CATALOGUE, REGIONS))


@settings(max_examples=300, deadline=None)
@given(
    questions(),
    st.sampled_from(POLICIES),
    st.integers(0, 24 * 60 - 1),
    st.integers(1, 500) | st.integers(-500, -1),
)
def test_a_cached_answer_is_the_fresh_answer(
    body: dict[str, Any], policy: RulebookPolicy, minute: int, days: int
) -> None:
    """Warmed by the same facts asked by others (other ids; on another day; without an
    assessment, also at another time of the same Swedish day), the cache must still answer
    exactly as ``advise`` does for this question."""
    q = RoutingQuestion.model_validate(body)
    start = q.planned_start
    other_time = start
    if q.assessment is None:
        day = datetime.combine(swedish_date(start), datetime.min.time(), STOCKHOLM)
        other_time = day + timedelta(minutes=minute)
        if swedish_date(other_time + timedelta(minutes=15)) != swedish_date(
            start + timedelta(minutes=15)
        ):
            other_time = start  # the imagined contact's end falls on another day
    earlier = q.model_copy(
        update={
            "request_id": uuid4(),
            "episode_id": uuid4() if q.episode_id else None,
            "planned_start": other_time,
        }
    )
    another_day = earlier.model_copy(
        update={"request_id": uuid4(), "planned_start": start + timedelta(days=days)}
    )
    cache = DecisionCache(16)
    cache.answer(another_day, policy, CATALOGUE, REGIONS)
    cache.answer(earlier, policy, CATALOGUE, REGIONS)
    assert cache.answer(q, policy, CATALOGUE, REGIONS) == _fresh(q, policy)
    assert cache.hits == 1  # only the same day's answer is reused


def test_size_zero_decides_every_time_and_the_oldest_answer_goes_first() -> None:
    base = {
        "planned_start": "2025-11-03T10:00:00+01:00",
        "home_region": {"county": "14", "municipality": "1480"},
        "care_region": "04",
    }

    def ask(mode: str) -> RoutingQuestion:
        return RoutingQuestion.model_validate(
            {**base, "request_id": str(uuid4()), "requested_mode": mode}
        )

    off = DecisionCache(0)
    off.answer(ask("chat"), POLICIES[0], CATALOGUE, REGIONS)
    off.answer(ask("chat"), POLICIES[0], CATALOGUE, REGIONS)
    assert (off.hits, off.misses) == (0, 0)

    small = DecisionCache(2)
    for mode in ("chat", "video", "phone", "chat"):
        q = ask(mode)
        assert small.answer(q, POLICIES[0], CATALOGUE, REGIONS) == _fresh(q, POLICIES[0])
    assert (small.hits, small.misses) == (0, 4)  # chat was evicted by phone
    assert UUID(str(q.request_id))


def test_ids_equal_to_the_placeholders_are_still_answered_right() -> None:
    """A client may choose any UUID, a placeholder's too: each id lands where it belongs."""
    cache = DecisionCache(8)
    other = str(uuid4())
    for request_id, episode_id in [
        (EPISODE, other), (REQUEST, EPISODE), (EPISODE, REQUEST), (EPISODE, None), (other, REQUEST),
    ]:  # fmt: skip
        q = RoutingQuestion.model_validate(
            {
                "request_id": str(request_id),
                "episode_id": None if episode_id is None else str(episode_id),
                "planned_start": "2025-11-03T10:00:00+01:00",
                "home_region": {"county": "14", "municipality": "1480"},
                "care_region": "04",
                "requested_mode": "video",
            }
        )
        assert cache.answer(q, POLICIES[0], CATALOGUE, REGIONS) == _fresh(q, POLICIES[0])
    assert cache.hits > 0
