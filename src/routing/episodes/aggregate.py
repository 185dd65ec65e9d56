"""Event-sourced aggregates: the care episode, and a receipt that makes each event id unique.

The episode stores each accepted fact as it was validated (JSON form), so the stored log is
exactly what front-ends sent plus the server's ``recorded_at`` (the library event's
timestamp). Replaying the log re-validates each fact with the same models: a stored event
that no longer parses is a schema-migration bug and must fail loudly, not be skipped.

``EventReceipt`` is the eventsourcing "unique index" pattern: an aggregate whose id is a
uuid5 of the client's event id, saved in the same transaction as the fact. The store's
(originator_id, version) key then refuses a second use of the same event id on *any*
episode, which the episode alone could not see.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import orjson
from eventsourcing.domain import Aggregate, event

from routing.episodes.events import EpisodeEvent, parse_event
from routing.episodes.journey import EpisodeState

RECEIPT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:routing:event-receipt")


def fingerprint(e: EpisodeEvent) -> str:
    """Digest of the validated body: the same event id with another body is a conflict."""
    canonical = orjson.dumps(e.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def receipt_id(event_id: UUID) -> UUID:
    return uuid5(RECEIPT_NAMESPACE, str(event_id))


@dataclass(frozen=True)
class FactReceipt:
    """What the store answered when a fact was first recorded; a retry gets the same."""

    fingerprint: str
    version: int
    recorded_at: datetime


class CareEpisode(Aggregate):
    """One patient's care episode: the consistency boundary for the journey rules."""

    class Opened(Aggregate.Created):
        fact: dict[str, Any]
        fingerprint: str

    class FactRecorded(Aggregate.Event):
        fact: dict[str, Any]
        fingerprint: str

        def apply(self, aggregate: Any) -> None:
            aggregate.state.apply(parse_event(self.fact))
            aggregate.receipts[self.fact["event_id"]] = FactReceipt(
                self.fingerprint, self.originator_version, self.timestamp
            )

    def __init__(self, fact: dict[str, Any], fingerprint: str) -> None:
        self.state = EpisodeState.open(parse_event(fact))
        self.receipts: dict[str, FactReceipt] = {
            fact["event_id"]: FactReceipt(fingerprint, self.version, self.created_on)
        }

    @classmethod
    def open(cls, first: EpisodeEvent, fp: str) -> CareEpisode:
        EpisodeState.open(first)  # raises RuleBroken before anything is triggered
        return cls._create(
            cls.Opened,
            id=first.episode_id,
            fact=first.model_dump(mode="json"),
            fingerprint=fp,
        )

    def record(self, e: EpisodeEvent, fp: str) -> None:
        self.state.check(e)
        self.trigger_event(self.FactRecorded, fact=e.model_dump(mode="json"), fingerprint=fp)


class EventReceipt(Aggregate):
    """Claims one client event id for one episode, globally."""

    @classmethod
    def create_id(cls, event_id: str, episode_id: str, fingerprint: str) -> UUID:  # type: ignore[override]
        return receipt_id(UUID(event_id))

    @event("Claimed")
    def __init__(self, event_id: str, episode_id: str, fingerprint: str) -> None:
        self.event_id = event_id
        self.episode_id = episode_id
        self.fingerprint = fingerprint
