"""Two processes writing to one store (the API and the ingest consumer): each trusts its own
cached episodes first, and a write judged on a stale copy is judged again on fresh state."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from routing.config import Settings, StoreKind
from routing.episodes.events import parse_event
from routing.episodes.service import CareEpisodes, EventRejected
from routing.store import open_episodes
from tests import support as f


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two(request: pytest.FixtureRequest) -> Iterator[tuple[CareEpisodes, CareEpisodes]]:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    assert settings.store is not StoreKind.memory
    a, b = open_episodes(settings), open_episodes(settings)
    yield a, b
    a.close()
    b.close()


def test_a_rule_judged_on_a_stale_copy_is_judged_again(
    two: tuple[CareEpisodes, CareEpisodes],
) -> None:
    a, b = two
    ep = uuid4()
    a.record_batch([parse_event(f.contact_requested(ep))])  # a caches version 1
    b.record_batch([parse_event(f.contact_started(ep))])  # b writes version 2
    # a's copy says the contact never started; the store says it did
    (done,) = a.record_batch([parse_event(f.contact_completed(ep))])
    assert done.episode_version == 3


def test_a_version_written_elsewhere_is_a_conflict_then_a_retry(
    two: tuple[CareEpisodes, CareEpisodes],
) -> None:
    a, b = two
    ep = uuid4()
    a.record_batch([parse_event(f.contact_requested(ep))])
    b.record_batch([parse_event(f.triage_completed(ep))])  # version 2, unknown to a
    (done,) = a.record_batch([parse_event(f.triage_completed(ep))])  # a's copy: version 2
    assert done.episode_version == 3
    assert [h.version for h in a.history(ep)] == [1, 2, 3]


def test_a_refusal_on_fresh_state_stands(two: tuple[CareEpisodes, CareEpisodes]) -> None:
    a, _ = two
    ep = uuid4()
    a.record_batch([parse_event(f.contact_requested(ep))])
    with pytest.raises(EventRejected) as refused:
        a.record_batch([parse_event(f.offer_accepted(ep))])
    assert refused.value.code == "no_open_offer"
