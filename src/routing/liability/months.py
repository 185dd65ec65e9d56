"""Closing billing months: region finance's commands, stored beside the episodes' facts.

A closing is saved in the care-episode store (the application given, ``CareEpisodes``), in
the same notification log as the facts, so the relay publishes it in order with them and the
liability read model sees a month closed exactly between the facts before and after it. The
event id is claimed with the same receipt the facts use (``EventReceipt``), so an event id is
unique across facts and closings alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import RecordConflictError

from routing.episodes.aggregate import EventReceipt
from routing.kernel.refusals import EventRejected
from routing.liability.billing import BillingMonth, MonthClosed


class Store(Protocol):
    """What closing a month needs of the recording application (``CareEpisodes``)."""

    @property
    def repository(self) -> Repository[UUID]: ...

    def save(self, *objs: Any) -> Sequence[Any]: ...

    def event_count(self) -> int: ...


def close_month(store: Store, event: MonthClosed) -> tuple[datetime, bool]:
    """Records the closing; returns (recorded_at, replayed). A retry with the same event id
    and body is answered as before; another closing of the same month is refused."""
    recorded_at, replayed, _ = close_month_at(store, event)
    return recorded_at, replayed


def close_month_at(store: Store, event: MonthClosed) -> tuple[datetime, bool, int]:
    """``close_month`` with the store position at which the closing is visible."""
    month = BillingMonth.close(event)
    claim = EventReceipt.claim(event.event_id, event.billing_month_id, _digest(event))
    try:
        recordings = store.save(month, claim)
    except RecordConflictError:
        return _earlier(store, event)
    position = max((r.notification.id or 0 for r in recordings), default=0)
    return month.created_on, False, position or store.event_count()


def _earlier(store: Store, event: MonthClosed) -> tuple[datetime, bool, int]:
    """The answer to a closing whose month or event id was taken: the first answer again if
    it is the same closing, else the refusal naming what took it."""
    try:
        existing: BillingMonth = store.repository.get(event.billing_month_id)
    except AggregateNotFoundError:
        raise EventRejected(
            0, "event_id_reused", f"event {event.event_id} was already recorded", "event_id"
        ) from None
    if existing.fact == event.model_dump(mode="json"):
        return existing.created_on, True, store.event_count()
    if existing.fact["event_id"] == str(event.event_id):
        raise EventRejected(
            0, "event_id_reused", f"event {event.event_id} was recorded with another body",
            "event_id",
        )  # fmt: skip
    raise EventRejected(
        0, "month_already_closed", f"{event.month} is already closed for invoices from "
        f"region {event.care_region} to region {event.home_region} "
        f"(by event {existing.fact['event_id']})",
    )  # fmt: skip


def _digest(event: MonthClosed) -> str:
    return hashlib.sha256(event.model_dump_json().encode()).hexdigest()
