"""The Kafka message format: CloudEvents 1.0, structured mode, one stored fact per message.

``id`` is the client's event id, ``time`` the valid time (occurred_at), ``subject`` the
episode. Extension attributes carry what consumers need to be exactly-once and auditable:
the store position, the episode version, recorded_at, the schema version, and the relay
epoch (which changes when the relay had to republish the whole store to a broker that lost
its log, so that projections know to start again).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from routing.episodes.events import EpisodeEvent, parse_event

CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
TYPE_PREFIX = "se.routing.episode."
BILLING_PREFIX = "se.routing.billing."
BILLING_TYPES = frozenset({"month_closed"})


class CloudEvent(BaseModel):
    """What a consumer reads off the event topic."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = "1.0"
    id: UUID
    source: str
    type: str
    subject: UUID
    time: AwareDatetime
    datacontenttype: str = "application/json"
    dataschema: str
    recordedat: AwareDatetime = Field(description="When the store learnt the fact.")
    storeposition: int = Field(description="Notification id in the event store.")
    episodeversion: int
    schemaversion: int
    relayepoch: int = Field(description="Bumped when the whole store was republished.")
    correlationid: str | None = Field(
        None,
        description="Id of the request or inbound message that caused the fact (for "
        "tracing it through logs); never a patient identifier.",
    )
    data: dict[str, Any]

    @property
    def event_type(self) -> str:
        return self.type.removeprefix(TYPE_PREFIX).removeprefix(BILLING_PREFIX)

    def fact_data(self) -> dict[str, Any]:
        """The fact's JSON object as it was stored (envelope fields folded back in)."""
        return fact_object(
            self.data,
            kind=self.event_type,
            schema_version=self.schemaversion,
            event_id=str(self.id),
            episode_id=str(self.subject),
            occurred_at=self.time.isoformat(),
            source=self.source.removeprefix("/sources/"),
        )

    def fact(self) -> EpisodeEvent:
        """The validated domain event, exactly as it was posted."""
        return parse_event(self.fact_data())

    def fact_json(self) -> str:
        """The fact as JSON text for a projection's own facts table: the message's own
        object re-serialised (a fraction of the cost of dumping the validated model), and
        read back with ``parse_event`` like any posted body."""
        return orjson.dumps(self.fact_data()).decode()


def fact_object(
    data: dict[str, Any],
    *,
    kind: str,
    schema_version: int,
    event_id: str,
    episode_id: str,
    occurred_at: str,
    source: str,
) -> dict[str, Any]:
    """A message's data with the envelope's fact fields folded back in, in the one key order
    every projection's facts table writes (replay builds it from the stored strings)."""
    return {
        **data,
        "type": kind,
        "schema_version": schema_version,
        "event_id": event_id,
        "episode_id": episode_id,
        "occurred_at": occurred_at,
        "source": source,
    }


def envelope(
    fact: dict[str, Any],
    *,
    subject: str,
    recorded_at: datetime | str,
    position: int,
    episode_version: int,
    epoch: int,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    """A stored fact (its JSON form) as a CloudEvents structured-mode object.

    ``subject`` is the aggregate the fact belongs to: the episode, or a billing month."""
    data = {k: v for k, v in fact.items() if k not in EpisodeEvent.ENVELOPE}
    prefix = BILLING_PREFIX if fact["type"] in BILLING_TYPES else TYPE_PREFIX
    out: dict[str, Any] = {
        "specversion": "1.0",
        "id": fact["event_id"],
        "source": f"/sources/{fact['source']}",
        "type": prefix + fact["type"],
        "subject": subject,
        "time": fact["occurred_at"],
        "datacontenttype": "application/json",
        "dataschema": f"urn:routing:event:{fact['type']}:v{fact['schema_version']}",
        "recordedat": recorded_at if isinstance(recorded_at, str) else recorded_at.isoformat(),
        "storeposition": position,
        "episodeversion": episode_version,
        "schemaversion": fact["schema_version"],
        "relayepoch": epoch,
        "data": data,
    }
    if correlation_id:
        out["correlationid"] = correlation_id
    return out


def encode(
    fact: dict[str, Any],
    *,
    subject: str,
    recorded_at: datetime | str,
    position: int,
    episode_version: int,
    epoch: int,
    correlation_id: str | None = None,
) -> bytes:
    """Serialises a stored fact as a CloudEvents structured-mode message (see ``envelope``)."""
    return orjson.dumps(
        envelope(
            fact,
            subject=subject,
            recorded_at=recorded_at,
            position=position,
            episode_version=episode_version,
            epoch=epoch,
            correlation_id=correlation_id,
        )
    )


def decode(value: bytes) -> CloudEvent:
    """Parses a message from the event topic; raises pydantic.ValidationError if malformed."""
    return CloudEvent.model_validate_json(value)
