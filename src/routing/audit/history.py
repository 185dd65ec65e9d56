"""An episode as it was known, and as it was in reality, at a given time (bitemporal reading).

Every fact has two times: ``occurred_at`` (valid time, when it happened) and ``recorded_at``
(when the store learnt it). An auditor asks three questions of them:

* as known at T: the facts recorded at or before T, folded in recording order: what the
  system believed then, and so what it decided then (the liability decision it would have
  shown);
* as occurred at T: the facts that happened at or before T, as we know them now;
* learnt between T1 and T2: the facts recorded in (T1, T2]; those that had occurred by T1 were
  learnt late (the record of T1 was incomplete about its own past).

Pure: it folds a history already read from the store, with the same folds and ``decide`` the
live projection uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from routing.episodes.events import parse_event
from routing.episodes.journey import EpisodeState, RuleBroken
from routing.episodes.service import HistoryEntry
from routing.liability.decision import LiabilityDecision
from routing.liability.engine import decide
from routing.liability.facts import EpisodeFacts
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions


@dataclass(frozen=True)
class EpisodeView:
    """A subset of an episode's facts and what they add up to."""

    facts: list[HistoryEntry]
    state: EpisodeState | None
    """None when the subset does not start with the episode's opening request."""
    decisions: list[LiabilityDecision]


@dataclass(frozen=True)
class Learnt:
    entry: HistoryEntry
    late: bool
    """It had occurred by the start of the interval but was not yet recorded then."""


def known_at(entries: Sequence[HistoryEntry], at: datetime) -> list[HistoryEntry]:
    return [e for e in entries if e.recorded_at <= at]


def occurred_by(entries: Sequence[HistoryEntry], at: datetime) -> list[HistoryEntry]:
    return [e for e in entries if e.occurred_at <= at]


def learnt_between(
    entries: Sequence[HistoryEntry], since: datetime, until: datetime
) -> list[Learnt]:
    """Facts recorded in (since, until]; empty when ``until`` is not after ``since``."""
    return [Learnt(e, e.occurred_at <= since) for e in entries if since < e.recorded_at <= until]


def view(
    entries: Sequence[HistoryEntry],
    episode_id: str,
    policy: RulebookPolicy,
    catalogue: Catalogue,
    regions: Regions,
) -> EpisodeView:
    """Folds ``entries`` (in recording order) into the journey state and decides every
    completed contact, as the liability projection would have with exactly these facts."""
    events = [parse_event({**e.data, **_envelope(e, episode_id)}) for e in entries]
    state: EpisodeState | None = None
    if events:
        try:
            state = EpisodeState.open(events[0])
            for event in events[1:]:
                state.apply(event)
        except RuleBroken:
            state = None
    facts = EpisodeFacts(episode_id)
    for entry, event in zip(entries, events, strict=True):
        facts.apply(event, entry.recorded_at)
    decisions = [
        decide(c, policy, catalogue, regions)
        for _, c in sorted(facts.contacts.items())
        if c.status == "completed"
    ]
    return EpisodeView(list(entries), state, decisions)


def _envelope(e: HistoryEntry, episode_id: str) -> dict[str, object]:
    return {
        "type": e.type,
        "event_id": str(e.event_id),
        "episode_id": episode_id,
        "occurred_at": e.occurred_at.isoformat(),
        "source": e.source,
    }
