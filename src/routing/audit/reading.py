"""Reading stored facts back from the notification log: the one decode function for audit.

Replay, the benchmark's raw read rate and policy simulation all read the store through
``FactReader``: pages of the notification log (fact topics only), each state undone by the
application's mapper (cipher, compressor: ``chain.plaintext_of``) and parsed as the library's
JSON. Parsing the JSON directly instead of building the library's event objects is the
relay's fast path too; the bytes are the same either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any
from uuid import UUID

import orjson

from routing.episodes.events import EpisodeEvent, parse_stored_event
from routing.episodes.service import CareEpisodes
from routing.messaging.envelope import CloudEvent, envelope, fact_object
from routing.persistence.chain import plaintext_of
from routing.store import FACT_TOPICS

PAGE = 5000


@dataclass(frozen=True, slots=True)
class StoredFact:
    position: int
    subject: str
    """The aggregate the fact belongs to: an episode, or a billing month."""
    version: int
    fact: dict[str, Any]
    recorded_at: str

    @property
    def type(self) -> str:
        return str(self.fact["type"])

    def cloud_event(self, epoch: int = 0) -> CloudEvent:
        """The fact as a projection receives it from Kafka: the relay's envelope, with the
        four typed attributes parsed as the runner's decoding parses them.

        Built without a JSON round trip and a second validation of what the store already
        validated (a tenth of a replay's time); ``tests/unit/test_audit_reading.py`` holds it
        equal to ``decode(encode(...))`` for every kind of fact. The fact itself is still
        validated, by ``fact()``, as it is for a message off the topic."""
        values = envelope(
            self.fact,
            subject=self.subject,
            recorded_at=self.recorded_at,
            position=self.position,
            episode_version=self.version,
            epoch=epoch,
        )
        values["id"] = UUID(values["id"])
        values["subject"] = UUID(values["subject"])
        values["time"] = datetime.fromisoformat(values["time"])
        values["recordedat"] = datetime.fromisoformat(values["recordedat"])
        values.setdefault("correlationid", None)
        fact = fact_object(  # from the stored strings, not str(UUID) again
            values["data"],
            kind=self.fact["type"],
            schema_version=values["schemaversion"],
            event_id=self.fact["event_id"],
            episode_id=self.subject,
            occurred_at=values["time"].isoformat(),
            source=self.fact["source"],
        )
        return ReplayedEvent.of(values, fact)


_EVENT_FIELDS = frozenset(CloudEvent.model_fields)


class ReplayedEvent(CloudEvent):
    """A decoded CloudEvent whose fact is rebuilt, validated and serialised once, however
    many projections ask."""

    @classmethod
    def of(cls, values: dict[str, Any], fact_data: dict[str, Any]) -> ReplayedEvent:
        """``model_construct`` without its loop over fields, aliases and defaults (a tenth of
        a replay): ``values`` holds every field, already typed, and nothing else;
        ``fact_data`` is what ``CloudEvent.fact_data`` would give."""
        assert values.keys() == _EVENT_FIELDS, "every field, and only fields"
        event = cls.__new__(cls)
        object.__setattr__(event, "__dict__", values)
        object.__setattr__(event, "__pydantic_fields_set__", set(values))
        object.__setattr__(event, "__pydantic_extra__", {})
        object.__setattr__(event, "__pydantic_private__", None)
        values["_fact_data"] = fact_data  # the cached value of ``_fact_data``
        return event

    @cached_property
    def _fact_data(self) -> dict[str, Any]:
        return super().fact_data()

    @cached_property
    def _fact(self) -> EpisodeEvent:
        return parse_stored_event(self._fact_data)

    @cached_property
    def _fact_json(self) -> str:
        return orjson.dumps(self._fact_data).decode()

    def fact_data(self) -> dict[str, Any]:
        return dict(self._fact_data)

    def fact(self) -> EpisodeEvent:
        return self._fact

    def fact_json(self) -> str:
        return self._fact_json


class FactReader:
    def __init__(self, service: CareEpisodes, page: int = PAGE) -> None:
        self.service, self.page = service, page
        self.recorder: Any = service.recorder
        self.plaintext = plaintext_of(service.mapper)

    def last_position(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def decode(self, n: Any) -> StoredFact:
        """The fact and ``recorded_at`` from the plaintext JSON (``timestamp._data_``), not
        the library's event object: measured 32 against 50 us a fact, 37 % less
        (benchmarks/overrides.py, 3,000 facts, medians of 7 alternating rounds, 2026-12-04)."""
        state = orjson.loads(self.plaintext(n.state))
        return StoredFact(
            n.id, str(n.originator_id), n.originator_version, state["fact"],
            state["timestamp"]["_data_"],
        )  # fmt: skip

    def pages(self, after: int = 0, until: int | None = None) -> Iterator[list[StoredFact]]:
        """Pages of facts after position ``after`` (up to ``until``), in store order.

        Windows of positions bound each scan (without one PostgreSQL may sort the whole
        remaining log per page); windows holding only bookkeeping records are stepped over."""
        last = self.last_position() if until is None else until
        window = 4 * self.page
        while after < last:
            rows = self.recorder.select_notifications(
                start=after,
                limit=self.page,
                stop=min(after + window, last),
                topics=FACT_TOPICS,
                inclusive_of_start=False,
            )
            if not rows:
                after = min(after + window, last)
                continue
            yield [self.decode(n) for n in rows]
            after = rows[-1].id

    def facts(self, after: int = 0) -> Iterator[StoredFact]:
        for page in self.pages(after):
            yield from page
