"""The facts a physical visit's classification (C6) rests on, folded from an episode's events.

Pure: the projection (and any replay) folds the same events through ``NecessityFacts``. Order
is the order of recording, as in the journey: an offer's answer belongs to the latest offer
still unanswered, and an assessment recorded late but dated before the visit simply joins
the fold, so the visit is classified again (C2).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import ClassVar

from routing.episodes import events as ev
from routing.episodes.vocabulary import (
    AssessmentOutcome,
    CareLevel,
    ContactMode,
    DeclineReason,
    Principle,
    Profession,
)


@dataclass(frozen=True)
class Judgement:
    """A need-and-suitability assessment (R5, R6) as far as C6 needs it."""

    contact_id: str | None  # None: made for the whole episode
    outcome: AssessmentOutcome
    failed_principles: tuple[Principle, ...]
    assessor_profession: Profession
    assessor_licensed: bool
    criteria: str  # id@version, for the trace
    occurred_at: datetime
    recorded_at: datetime | None


@dataclass(frozen=True)
class Offer:
    """A distance-contact offer and the patient's answer, if any (R4, R6)."""

    modes: frozenset[ContactMode]
    offered_at: datetime
    answer: str | None = None  # accepted | declined
    decline_reason: DeclineReason | None = None


@dataclass(frozen=True)
class VisitFacts:
    """Everything known about one contact that can change how its physical visit counts."""

    episode_id: str
    contact_id: str
    care_region: str
    care_level: CareLevel
    requested_unit_id: str
    care_unit_id: str  # where the visit is booked (the journey moves the contact there)
    requested_mode: ContactMode
    booked_at: datetime | None = None
    held_at: datetime | None = None
    held_recorded_at: datetime | None = None
    offers: tuple[Offer, ...] = ()
    judgements: tuple[Judgement, ...] = ()


@dataclass
class NecessityFacts:
    """Fold of one episode's events into per-contact visit facts."""

    READS: ClassVar[frozenset[str]] = frozenset(
        {
            "contact_requested",
            "need_and_suitability_assessed",
            "distance_contact_offered",
            "offer_accepted",
            "offer_declined",
            "physical_visit_booked",
            "physical_visit_held",
        }
    )
    """The event types ``apply`` folds (tests/unit/test_fold_reads.py holds it true)."""

    episode_id: str
    contacts: dict[str, VisitFacts] = field(default_factory=dict)
    judgements: list[Judgement] = field(default_factory=list)

    def apply(self, e: ev.EpisodeEvent, recorded_at: datetime | None = None) -> set[str]:
        """Folds one event; returns the contact ids whose classification may have changed."""
        match e:
            case ev.ContactRequested():
                self.contacts[e.contact_id] = VisitFacts(
                    episode_id=self.episode_id,
                    contact_id=e.contact_id,
                    care_region=e.care_region,
                    care_level=e.care_level,
                    requested_unit_id=e.care_unit_id,
                    care_unit_id=e.care_unit_id,
                    requested_mode=e.requested_mode,
                    judgements=self._judgements_for(e.contact_id),
                )
                return {e.contact_id}
            case ev.NeedAndSuitabilityAssessed():
                self.judgements.append(
                    Judgement(
                        contact_id=e.contact_id,
                        outcome=e.outcome,
                        failed_principles=tuple(e.failed_principles),
                        assessor_profession=e.assessor_profession,
                        assessor_licensed=e.assessor_licensed,
                        criteria=f"{e.criteria_set.id}@{e.criteria_set.version}",
                        occurred_at=e.occurred_at,
                        recorded_at=recorded_at,
                    )
                )
                touched = set(self.contacts) if e.contact_id is None else {e.contact_id}
                for cid in touched & set(self.contacts):
                    self.contacts[cid] = replace(
                        self.contacts[cid], judgements=self._judgements_for(cid)
                    )
                return touched & set(self.contacts)
            case ev.DistanceContactOffered():
                c = self.contacts.get(e.contact_id)
                if c is None:
                    return set()
                offer = Offer(modes=frozenset(e.modes), offered_at=e.occurred_at)
                return self._update(e.contact_id, offers=(*c.offers, offer))
            case ev.OfferAccepted() | ev.OfferDeclined():
                return self._answer(e)
            case ev.PhysicalVisitBooked():
                return self._update(e.contact_id, care_unit_id=e.care_unit_id,
                                    booked_at=e.occurred_at)  # fmt: skip
            case ev.PhysicalVisitHeld():
                return self._update(e.contact_id, held_at=e.occurred_at,
                                    held_recorded_at=recorded_at)  # fmt: skip
        return set()

    def _answer(self, e: ev.OfferAccepted | ev.OfferDeclined) -> set[str]:
        c = self.contacts.get(e.contact_id)
        if c is None:
            return set()
        offers = list(c.offers)
        for i in range(len(offers) - 1, -1, -1):
            if offers[i].answer is None:
                if isinstance(e, ev.OfferDeclined):
                    offers[i] = replace(offers[i], answer="declined", decline_reason=e.reason)
                else:
                    offers[i] = replace(offers[i], answer="accepted")
                break
        return self._update(e.contact_id, offers=tuple(offers))

    def _update(self, contact_id: str, **changes: object) -> set[str]:
        c = self.contacts.get(contact_id)
        if c is None:
            return set()
        self.contacts[contact_id] = replace(c, **changes)  # type: ignore[arg-type]
        return {contact_id}

    def _judgements_for(self, contact_id: str) -> tuple[Judgement, ...]:
        return tuple(j for j in self.judgements if j.contact_id in (None, contact_id))
