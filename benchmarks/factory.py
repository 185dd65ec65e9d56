"""Valid, distinct event bodies for the ingest benchmark: whole care journeys.

Every journey opens a new episode (``contact_requested``) and then walks one digital contact
through the steps the journey rules allow. ``occurred_at`` lies a day in the past so the
server's clock-skew check never refuses a body. Bodies are plain dicts; the HTTP layer
serialises them with orjson before the clock starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

SOURCE = "bench"
PROVIDER = "SE2321000032-000001"
CARE_UNIT = "SE2321000115-094882"

Body = dict[str, Any]

# Journey shapes of 4, 5 and 6 events; the first is always contact_requested.
SHAPES: tuple[tuple[str, ...], ...] = (
    ("contact_requested", "need_and_suitability_assessed", "contact_started", "contact_completed"),
    (
        "contact_requested",
        "triage_completed",
        "need_and_suitability_assessed",
        "contact_started",
        "contact_completed",
    ),
    (
        "contact_requested",
        "need_and_suitability_assessed",
        "distance_contact_offered",
        "offer_accepted",
        "contact_started",
        "contact_completed",
    ),
)


def _step(kind: str, contact_id: str) -> Body:
    """The event-specific fields of one journey step."""
    if kind == "contact_requested":
        return {
            "contact_id": contact_id,
            "requested_mode": "chat",
            "patient": "psn_" + os.urandom(8).hex(),
            "home_region": {"county": "14", "municipality": "1480"},
            "care_region": "04",
            "provider_id": PROVIDER,
            "care_unit_id": CARE_UNIT,
            "care_level": "primary",
            "listed_unit_id": CARE_UNIT,
        }
    if kind == "triage_completed":
        return {
            "contact_id": contact_id,
            "urgency": "within_days",
            "recommended_care_level": "primary",
            "triaged_by": {"kind": "algorithm", "algorithm": "bench-triage", "version": "1.0"},
        }
    if kind == "need_and_suitability_assessed":
        return {
            "contact_id": contact_id,
            "criteria_set": {"id": "national-digital", "version": "2025.1", "owning_region": None},
            "answered_criteria": ["p1", "p2", "p3", "p4", "n1", "n2", "n3"],
            "outcome": "distance_suitable",
            "assessor_profession": "nurse",
            "assessor_licensed": True,
        }
    if kind == "distance_contact_offered":
        return {"contact_id": contact_id, "modes": ["chat", "video"]}
    if kind == "offer_accepted":
        return {"contact_id": contact_id, "mode": "video"}
    if kind == "contact_started":
        return {"contact_id": contact_id, "mode": "video", "profession": "doctor"}
    if kind == "contact_completed":
        return {
            "contact_id": contact_id,
            "mode": "video",
            "profession": "doctor",
            "content": "qualified_care",
        }
    raise ValueError(f"no factory for {kind}")


class EventFactory:
    """Makes whole journeys; every event id and episode id is a fresh uuid4."""

    def __init__(self) -> None:
        self.base = datetime.now(UTC) - timedelta(days=1)
        self.journeys = 0

    def journey(self, shape: tuple[str, ...] | None = None) -> list[Body]:
        shape = shape or SHAPES[self.journeys % len(SHAPES)]
        self.journeys += 1
        episode_id = str(uuid4())
        start = self.base + timedelta(seconds=self.journeys % 80_000)
        events: list[Body] = []
        for i, kind in enumerate(shape):
            events.append(
                {
                    "type": kind,
                    "event_id": str(uuid4()),
                    "episode_id": episode_id,
                    "occurred_at": (start + timedelta(minutes=2 * i)).isoformat(),
                    "source": SOURCE,
                    **_step(kind, "c1"),
                }
            )
        return events

    def stream(self) -> Iterator[Body]:
        """Events journey after journey, each journey in its own order (for one connection)."""
        while True:
            yield from self.journey()

    def batch(self, size: int) -> list[Body]:
        """About ``size`` events made of whole journeys (journeys are never split)."""
        events: list[Body] = []
        while len(events) < size:
            events.extend(self.journey())
        return events


def contact_requested_payload() -> Body:
    """A contact_requested body as the service stores it (the baseline's payload)."""
    body = EventFactory().journey(SHAPES[0])[0]
    return {"fact": {**body, "schema_version": 1}, "fingerprint": os.urandom(32).hex()}
