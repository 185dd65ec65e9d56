"""Closing a billing month for a region pair: an event, so invoices are part of the history.

Once (home region, care region, month) is closed, its invoice lines are fixed; a decision that
changes afterwards produces a correction (credit note), never a silent edit (C2).
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from routing.episodes.vocabulary import CountyCode, SourceId, Timestamp
from routing.identity.screen import refuse_raw, unparsed_uuids
from routing.kernel.calendar import MONTH, MONTH_PATTERN

BILLING_NAMESPACE = uuid5(NAMESPACE_URL, "urn:routing:billing-month")


def billing_month_id(home_region: str, care_region: str, month: str) -> UUID:
    return uuid5(BILLING_NAMESPACE, f"{home_region}:{care_region}:{month}")


class MonthClosed(BaseModel):
    """Region finance closed ``month`` for invoices from ``care_region`` to ``home_region``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _screened(cls, data: Any) -> Any:
        """No identity number, non-ASCII digit or NUL in any string (routing.identity.screen)."""
        return refuse_raw(cls.__name__, data, unparsed_uuids(cls) | {"type"})

    type: Literal["month_closed"] = "month_closed"
    schema_version: Literal[1] = 1
    event_id: UUID
    home_region: CountyCode
    care_region: CountyCode
    month: str = Field(
        description="YYYY-MM, in Swedish time", json_schema_extra={"pattern": MONTH_PATTERN}
    )
    occurred_at: Timestamp
    source: SourceId

    @field_validator("month")
    @classmethod
    def _month(cls, value: str) -> str:
        if not MONTH.match(value):
            raise ValueError("month must be YYYY-MM")
        return value

    @property
    def billing_month_id(self) -> UUID:
        return billing_month_id(self.home_region, self.care_region, self.month)


class BillingMonth(Aggregate):
    """One (home region, care region, month). Closing it twice is refused (409)."""

    class Closed(Aggregate.Created):
        fact: dict[str, Any]

    def __init__(self, fact: dict[str, Any]) -> None:
        self.fact = fact

    @classmethod
    def close(cls, event: MonthClosed) -> BillingMonth:
        return cls._create(
            cls.Closed, id=event.billing_month_id, fact=event.model_dump(mode="json")
        )
