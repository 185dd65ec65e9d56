"""The care-episode journey: what state the facts add up to, and which sequences cannot happen.

Pure domain code. ``check`` refuses an event that contradicts what is already known (its
rules are in ``sequence``); ``apply`` folds an accepted event into the state (the parts it
folds into are in ``parts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from routing.episodes import events as ev
from routing.episodes.parts import Contact, ContactStatus, Offer, Referral, RuleBroken
from routing.episodes.sequence import check as _check
from routing.episodes.vocabulary import ContactMode, HomeRegion

__all__ = ["Contact", "ContactStatus", "EpisodeState", "Offer", "Referral", "RuleBroken"]


@dataclass
class EpisodeState:
    """What the recorded facts of one episode add up to."""

    episode_id: str
    patient: str
    home_region: HomeRegion
    opened_at: datetime
    contacts: dict[str, Contact] = field(default_factory=dict)
    referrals: dict[str, Referral] = field(default_factory=dict)
    treatments: dict[str, datetime] = field(default_factory=dict)
    treatments_given: set[str] = field(default_factory=set)
    treatment_referrals: dict[str, str] = field(default_factory=dict)
    """Treatment id -> the referral it was decided on: whose treatment it is (C10)."""
    triages: int = 0
    assessments: int = 0
    home_region_corrections: int = 0

    def copy(self) -> EpisodeState:
        """A copy whose mutable parts are independent: cheaper than deepcopy, which the
        repository's cache would otherwise run on every load."""
        return replace(
            self,
            contacts={k: c.copy() for k, c in self.contacts.items()},
            referrals={k: replace(r) for k, r in self.referrals.items()},
            treatments=dict(self.treatments),
            treatments_given=set(self.treatments_given),
            treatment_referrals=dict(self.treatment_referrals),
        )

    @classmethod
    def open(cls, first: ev.EpisodeEvent) -> EpisodeState:
        if not isinstance(first, ev.ContactRequested):
            raise RuleBroken(
                "episode_not_opened",
                f"episode {first.episode_id} does not exist yet: its first event must be "
                f"contact_requested, not {first.type}",
            )
        state = cls(
            episode_id=str(first.episode_id),
            patient=first.patient,
            home_region=first.home_region,
            opened_at=first.occurred_at,
        )
        state.apply(first)
        return state

    def check(self, e: ev.EpisodeEvent) -> None:
        """Raises RuleBroken if ``e`` cannot follow the facts recorded so far."""
        _check(self, e)

    # --- evolution -----------------------------------------------------------------------

    def apply(self, e: ev.EpisodeEvent) -> None:
        """Folds an accepted event into the state (no checks: ``check`` ran first)."""
        match e:
            case (
                ev.DistanceContactOffered() | ev.OfferAccepted() | ev.OfferDeclined()
                | ev.ContactStarted() | ev.ContactModeChanged() | ev.ContactCompleted()
                | ev.PhysicalVisitBooked() | ev.PhysicalVisitHeld() | ev.ContactCancelled()
            ):  # fmt: skip
                self._fold_contact(e)
            case ev.ContactRequested():
                self.contacts[e.contact_id] = Contact(
                    contact_id=e.contact_id,
                    requested_mode=e.requested_mode,
                    care_region=e.care_region,
                    provider_id=e.provider_id,
                    care_unit_id=e.care_unit_id,
                    care_level=e.care_level,
                    requested_at=e.occurred_at,
                )
            case ev.TriageCompleted():
                self.triages += 1
            case ev.NeedAndSuitabilityAssessed():
                self.assessments += 1
            case ev.ReferralIssued():
                self.referrals[e.referral_id] = Referral(
                    referral_id=e.referral_id,
                    target_care_level=e.target_care_level,
                    target_region=e.target_region,
                    issued_at=e.occurred_at,
                )
            case ev.ReferralAccepted():
                self.referrals[e.referral_id].status = "accepted"
            case ev.ReferralRejected():
                self.referrals[e.referral_id].status = "rejected"
            case ev.TreatmentDecided():
                self.treatments[e.treatment_id] = e.occurred_at
                if e.referral_id is not None:
                    self.treatment_referrals[e.treatment_id] = e.referral_id
            case ev.TreatmentGiven():
                self.treatments_given.add(e.treatment_id)
            case ev.HomeRegionCorrected():
                self.home_region = e.home_region
                self.home_region_corrections += 1

    def _fold_contact(self, e: ev.EpisodeEvent) -> None:
        """Folds what happens to a requested contact: offers and answers, start, mode,
        completion, a physical visit booked and held, cancellation."""
        match e:
            case ev.DistanceContactOffered():
                self.contacts[e.contact_id].offers.append(
                    Offer(modes=list(e.modes), offered_at=e.occurred_at)
                )
            case ev.OfferAccepted():
                c = self.contacts[e.contact_id]
                offer = c.offers[-1]
                offer.answer, offer.accepted_mode = "accepted", e.mode
                if c.status is ContactStatus.booked:  # the distance contact replaces the visit
                    c.status, c.mode, c.visit_scheduled_for = ContactStatus.requested, None, None
            case ev.OfferDeclined():
                offer = self.contacts[e.contact_id].offers[-1]
                offer.answer, offer.decline_reason = "declined", e.reason.value
            case ev.ContactStarted():
                c = self.contacts[e.contact_id]
                c.status, c.mode, c.profession = ContactStatus.started, e.mode, e.profession
                c.started_at = e.occurred_at
            case ev.ContactModeChanged():
                self.contacts[e.contact_id].mode = e.mode
            case ev.ContactCompleted():
                c = self.contacts[e.contact_id]
                c.status, c.mode, c.profession = ContactStatus.completed, e.mode, e.profession
                c.completed_at, c.content = e.occurred_at, e.content.value
                c.physical_follow_up_needed = e.physical_follow_up_needed
            case ev.PhysicalVisitBooked():
                c = self.contacts[e.contact_id]
                c.status, c.mode = ContactStatus.booked, ContactMode.physical
                c.care_unit_id, c.visit_scheduled_for = e.care_unit_id, e.scheduled_for
            case ev.PhysicalVisitHeld():
                c = self.contacts[e.contact_id]
                c.status, c.profession = ContactStatus.completed, e.profession
                c.started_at = c.started_at or e.occurred_at
                c.completed_at, c.content = e.occurred_at, e.content.value
            case ev.ContactCancelled():
                self.contacts[e.contact_id].status = ContactStatus.cancelled
