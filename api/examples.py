"""Request examples of the OpenAPI page (/docs "Try it out"), one valid request per write.

tests/contracts/test_examples.py posts each to a fresh app and expects it to succeed, so an
example that stops being valid fails a test instead of misleading a reader.
"""

from __future__ import annotations

from typing import Any

from routing.episodes.events import event_examples


def _one(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"journey": {"summary": summary, "value": value}}


def batch() -> dict[str, Any]:
    journey = list(event_examples().values())  # requested, assessed, started, completed
    return _one(
        "A chat contact from request to completion, in one transaction", {"events": journey}
    )


DECISION = _one(
    "A patient of Västra Götaland (14) asks Uppsala (03)'s chat for primary care",
    {
        "request_id": "3d1f0a52-9c6e-4b7a-8f21-5e4d3c2b1a09",
        "planned_start": "2026-03-02T09:14:00+01:00",
        "home_region": {"county": "14", "municipality": "1480"},
        "care_region": "03",
        "requested_mode": "chat",
        "care_level": "primary",
        "profession": "doctor",
    },
)

MONTH_CLOSE = _one(
    "Uppsala (03) closes March 2026 for invoices to Västra Götaland (14)",
    {
        "event_id": "a5c0e8d2-7b41-4f3e-9a6c-2d8e1f0b3c47",
        "home_region": "14",
        "care_region": "03",
        "month": "2026-03",
        "occurred_at": "2026-04-01T08:00:00+02:00",
        "source": "region-03-finance",
    },
)

SIMULATION = _one(
    "What Västra Götaland (14) would have paid without Ds 2023:27 in Q4 2025",
    {"home_regions": ["14"], "start": "2025-10-01", "end": "2025-12-31",
     "ds_2023_27_enabled": False},
)  # fmt: skip
