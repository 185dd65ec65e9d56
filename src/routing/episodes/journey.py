"""The care-episode journey: what state the facts add up to, and which sequences cannot happen.

Pure domain code. ``check`` refuses an event that contradicts what is already known (a
completion of a contact never started, an answer to an offer never made...); ``apply`` folds an
accepted event into the state. Order is the order of *recording*: an event whose ``occurred_at``
is earlier than those already recorded is normal late documentation (C2) and is accepted, so no
rule here compares valid times.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from routing.episodes import events as ev
from routing.episodes.vocabulary import (
    CareLevel,
    ContactMode,
    HomeRegion,
)


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

    # --- rules ---------------------------------------------------------------------------

    def check(self, e: ev.EpisodeEvent) -> None:
        """Raises RuleBroken if ``e`` cannot follow the facts recorded so far."""
        match e:
            case ev.ContactRequested():
                if e.patient != self.patient:
                    raise RuleBroken(
                        "patient_mismatch",
                        "an episode belongs to one patient: contact_requested names another",
                    )
                if e.home_region != self.home_region:
                    raise RuleBroken(
                        "home_region_mismatch",
                        "contact_requested names another home region than the episode's; "
                        "record home_region_corrected if the first one was wrong",
                    )
                if e.contact_id in self.contacts:
                    raise RuleBroken(
                        "contact_already_requested",
                        f"contact {e.contact_id} was already requested in this episode",
                    )
            case ev.TriageCompleted() | ev.NeedAndSuitabilityAssessed():
                if e.contact_id is not None:
                    self._contact(e.contact_id, e.type)
            case ev.DistanceContactOffered():
                c = self._open_contact(e.contact_id, e.type)
                if c.status is ContactStatus.started:
                    raise RuleBroken(
                        "contact_in_progress",
                        f"contact {c.contact_id} is already under way as a distance contact",
                    )
                if c.open_offer is not None:
                    raise RuleBroken(
                        "offer_already_open",
                        f"contact {c.contact_id} already has an offer awaiting the patient's "
                        "answer",
                    )
            case ev.OfferAccepted() | ev.OfferDeclined():
                c = self._contact(e.contact_id, e.type)
                offer = c.open_offer
                if offer is None:
                    raise RuleBroken(
                        "no_open_offer",
                        f"{e.type}: no distance contact was offered for contact {c.contact_id}, "
                        "or the offer was already answered",
                    )
                if isinstance(e, ev.OfferAccepted) and e.mode not in offer.modes:
                    raise RuleBroken(
                        "mode_not_offered",
                        f"mode {e.mode} was not offered (offered: "
                        f"{', '.join(m.value for m in offer.modes)})",
                    )
            case ev.ContactStarted():
                c = self._open_contact(e.contact_id, e.type)
                if c.status is ContactStatus.started:
                    raise RuleBroken(
                        "contact_already_started", f"contact {c.contact_id} was already started"
                    )
                if c.status is ContactStatus.booked:
                    raise RuleBroken(
                        "contact_booked_physical",
                        f"contact {c.contact_id} is booked as a physical visit; cancel it and "
                        "request a new contact",
                    )
            case ev.ContactModeChanged():
                c = self._started_contact(e.contact_id, e.type)
                if c.mode == e.mode:
                    raise RuleBroken(
                        "mode_unchanged", f"contact {c.contact_id} is already in mode {e.mode}"
                    )
            case ev.ContactCompleted():
                self._started_contact(e.contact_id, e.type)
            case ev.PhysicalVisitBooked():
                c = self._open_contact(e.contact_id, e.type)
                if c.status is ContactStatus.started:
                    raise RuleBroken(
                        "contact_in_progress",
                        f"contact {c.contact_id} is under way as a distance contact; complete it "
                        "with physical_follow_up_needed and request a new contact",
                    )
                if c.status is ContactStatus.booked:
                    raise RuleBroken(
                        "visit_already_booked", f"contact {c.contact_id} is already booked"
                    )
            case ev.PhysicalVisitHeld():
                c = self._open_contact(e.contact_id, e.type)
                if c.status is not ContactStatus.booked:
                    raise RuleBroken(
                        "visit_not_booked",
                        f"physical_visit_held: contact {c.contact_id} has no booked physical visit",
                    )
            case ev.ContactCancelled():
                self._open_contact(e.contact_id, e.type)
            case ev.ReferralIssued():
                if e.referral_id in self.referrals:
                    raise RuleBroken(
                        "referral_already_issued", f"referral {e.referral_id} was already issued"
                    )
            case ev.ReferralAccepted() | ev.ReferralRejected():
                r = self.referrals.get(e.referral_id)
                if r is None:
                    raise RuleBroken(
                        "unknown_referral",
                        f"{e.type}: referral {e.referral_id} was never issued in this episode",
                    )
                if r.status != "issued":
                    raise RuleBroken(
                        "referral_already_answered",
                        f"referral {e.referral_id} was already {r.status}",
                    )
            case ev.TreatmentDecided():
                if e.treatment_id in self.treatments:
                    raise RuleBroken(
                        "treatment_already_decided",
                        f"treatment {e.treatment_id} was already decided",
                    )
                if e.referral_id is not None and e.referral_id not in self.referrals:
                    raise RuleBroken(
                        "unknown_referral",
                        f"treatment_decided: referral {e.referral_id} was never issued",
                    )
                if e.referral_id is not None and self.referrals[e.referral_id].status == "rejected":
                    raise RuleBroken(
                        "referral_rejected",
                        f"treatment_decided: referral {e.referral_id} was rejected",
                    )
            case ev.MedicalAssessmentNeeded():
                self._contact(e.contact_id, e.type)
            case ev.TreatmentGiven():
                self._treatment(e.treatment_id, e.type)
                if e.treatment_id in self.treatments_given:
                    raise RuleBroken(
                        "treatment_already_given", f"treatment {e.treatment_id} was already given"
                    )
            case ev.GuaranteeSubjectFact():
                self._guarantee_subject(e)
            case ev.HomeRegionCorrected():
                if e.home_region == self.home_region:
                    raise RuleBroken(
                        "home_region_unchanged",
                        "home_region_corrected names the home region already recorded",
                    )

    def _contact(self, contact_id: str, event_type: str) -> Contact:
        c = self.contacts.get(contact_id)
        if c is None:
            raise RuleBroken(
                "unknown_contact",
                f"{event_type}: contact {contact_id} was never requested in this episode",
            )
        return c

    def _treatment(self, treatment_id: str, event_type: str) -> None:
        if treatment_id not in self.treatments:
            raise RuleBroken(
                "unknown_treatment",
                f"{event_type}: treatment {treatment_id} was never decided in this episode",
            )

    def _guarantee_subject(self, e: ev.GuaranteeSubjectFact) -> None:
        """A care-guarantee fact names a referral or treatment decision of this episode."""
        if e.treatment_id is not None:
            self._treatment(e.treatment_id, e.type)
        elif e.referral_id not in self.referrals:
            raise RuleBroken(
                "unknown_referral",
                f"{e.type}: referral {e.referral_id} was never issued in this episode",
            )

    def _open_contact(self, contact_id: str, event_type: str) -> Contact:
        c = self._contact(contact_id, event_type)
        if c.closed:
            raise RuleBroken(
                "contact_closed", f"{event_type}: contact {contact_id} is already {c.status}"
            )
        return c

    def _started_contact(self, contact_id: str, event_type: str) -> Contact:
        c = self._open_contact(contact_id, event_type)
        if c.status is not ContactStatus.started:
            raise RuleBroken(
                "contact_not_started",
                f"{event_type}: contact {contact_id} was never started",
            )
        return c

    # --- evolution -----------------------------------------------------------------------

    def apply(self, e: ev.EpisodeEvent) -> None:
        """Folds an accepted event into the state (no checks: ``check`` ran first)."""
        match e:
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
