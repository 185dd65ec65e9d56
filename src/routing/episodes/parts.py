"""The parts of a care episode's state: its contacts, their offers, its referrals, and the
exception a fact that cannot follow them raises (the journey folds them, the sequence rules
read them)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from routing.episodes.vocabulary import CareLevel, ContactMode


class RuleBroken(Exception):  # noqa: N818 - a domain outcome, not a programming error
    """An event that cannot follow what the episode already holds. The API answers 409."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class ContactStatus(StrEnum):
    requested = "requested"
    booked = "booked"  # physical visit booked
    started = "started"  # distance contact under way
    completed = "completed"
    cancelled = "cancelled"


@dataclass
class Offer:
    modes: list[ContactMode]
    offered_at: datetime
    answer: str | None = None  # "accepted" | "declined"
    accepted_mode: ContactMode | None = None
    decline_reason: str | None = None


@dataclass
class Contact:
    contact_id: str
    requested_mode: ContactMode
    care_region: str
    provider_id: str
    care_unit_id: str
    care_level: CareLevel
    requested_at: datetime
    status: ContactStatus = ContactStatus.requested
    mode: ContactMode | None = None
    profession: str | None = None
    offers: list[Offer] = field(default_factory=list)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    content: str | None = None
    physical_follow_up_needed: bool = False
    visit_scheduled_for: datetime | None = None

    def copy(self) -> Contact:
        return replace(self, offers=[replace(o, modes=list(o.modes)) for o in self.offers])

    @property
    def open_offer(self) -> Offer | None:
        if self.offers and self.offers[-1].answer is None:
            return self.offers[-1]
        return None

    @property
    def closed(self) -> bool:
        return self.status in (ContactStatus.completed, ContactStatus.cancelled)


@dataclass
class Referral:
    referral_id: str
    target_care_level: CareLevel
    target_region: str
    issued_at: datetime
    status: str = "issued"  # issued | accepted | rejected
