"""Which sequences of facts cannot happen in a care episode (the journey's rules).

Pure: ``check`` reads the state the recorded facts add up to and raises ``RuleBroken`` for an
event that contradicts it (a completion of a contact never started, an answer to an offer never
made...). Order is the order of *recording*: an event whose ``occurred_at`` is earlier than
those already recorded is normal late documentation (C2), so no rule here compares valid times.
Each group of facts has its own small function; ``check`` only sends an event to its group.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from routing.episodes import events as ev
from routing.episodes.parts import Contact, ContactStatus, Referral, RuleBroken
from routing.episodes.vocabulary import HomeRegion


class EpisodeState(Protocol):
    """What the rules read of the journey's state (routing.episodes.journey.EpisodeState)."""

    patient: str
    home_region: HomeRegion
    contacts: dict[str, Contact]
    referrals: dict[str, Referral]
    treatments: dict[str, datetime]
    treatments_given: set[str]


def check(s: EpisodeState, e: ev.EpisodeEvent) -> None:
    """Raises RuleBroken if ``e`` cannot follow the facts recorded so far."""
    match e:
        case ev.DistanceContactOffered() | ev.OfferAccepted() | ev.OfferDeclined():
            _offer(s, e)
        case (
            ev.ContactStarted()
            | ev.ContactModeChanged()
            | ev.ContactCompleted()
            | ev.PhysicalVisitBooked()
            | ev.PhysicalVisitHeld()
            | ev.ContactCancelled()
        ):
            _contact_step(s, e)
        case (
            ev.ReferralIssued()
            | ev.ReferralAccepted()
            | ev.ReferralRejected()
            | ev.TreatmentDecided()
            | ev.TreatmentGiven()
        ):
            _referral_or_treatment(s, e)
        case _:
            _episode(s, e)


def _episode(s: EpisodeState, e: ev.EpisodeEvent) -> None:
    """One patient and home region per episode; a contact requested once; facts about a
    contact, treatment or referral name one this episode holds."""
    match e:
        case ev.ContactRequested():
            if e.patient != s.patient:
                raise RuleBroken(
                    "patient_mismatch",
                    "an episode belongs to one patient: contact_requested names another",
                )
            if e.home_region != s.home_region:
                raise RuleBroken(
                    "home_region_mismatch",
                    "contact_requested names another home region than the episode's; "
                    "record home_region_corrected if the first one was wrong",
                )
            if e.contact_id in s.contacts:
                raise RuleBroken(
                    "contact_already_requested",
                    f"contact {e.contact_id} was already requested in this episode",
                )
        case ev.TriageCompleted() | ev.NeedAndSuitabilityAssessed():
            if e.contact_id is not None:
                _contact(s, e.contact_id, e.type)
        case ev.MedicalAssessmentNeeded():
            _contact(s, e.contact_id, e.type)
        case ev.GuaranteeSubjectFact():
            _guarantee_subject(s, e)
        case ev.HomeRegionCorrected():
            if e.home_region == s.home_region:
                raise RuleBroken(
                    "home_region_unchanged",
                    "home_region_corrected names the home region already recorded",
                )


def _offer(s: EpisodeState, e: ev.EpisodeEvent) -> None:
    """A distance offer to an open contact not under way, answered once, in a mode offered."""
    match e:
        case ev.DistanceContactOffered():
            c = _open_contact(s, e.contact_id, e.type)
            if c.status is ContactStatus.started:
                raise RuleBroken(
                    "contact_in_progress",
                    f"contact {c.contact_id} is already under way as a distance contact",
                )
            if c.open_offer is not None:
                raise RuleBroken(
                    "offer_already_open",
                    f"contact {c.contact_id} already has an offer awaiting the patient's answer",
                )
        case ev.OfferAccepted() | ev.OfferDeclined():
            c = _contact(s, e.contact_id, e.type)
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


def _contact_step(s: EpisodeState, e: ev.EpisodeEvent) -> None:
    """A contact's course: started once, not while booked physically; a mode change or
    completion only once started; a physical visit booked once and held only when booked."""
    match e:
        case ev.ContactStarted():
            c = _open_contact(s, e.contact_id, e.type)
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
            c = _started_contact(s, e.contact_id, e.type)
            if c.mode == e.mode:
                raise RuleBroken(
                    "mode_unchanged", f"contact {c.contact_id} is already in mode {e.mode}"
                )
        case ev.ContactCompleted():
            _started_contact(s, e.contact_id, e.type)
        case ev.PhysicalVisitBooked():
            c = _open_contact(s, e.contact_id, e.type)
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
            c = _open_contact(s, e.contact_id, e.type)
            if c.status is not ContactStatus.booked:
                raise RuleBroken(
                    "visit_not_booked",
                    f"physical_visit_held: contact {c.contact_id} has no booked physical visit",
                )
        case ev.ContactCancelled():
            _open_contact(s, e.contact_id, e.type)


def _referral_or_treatment(s: EpisodeState, e: ev.EpisodeEvent) -> None:
    """Referrals issued once and answered once; treatments decided once, on a referral that
    exists and was not rejected, and given once."""
    match e:
        case ev.ReferralIssued():
            if e.referral_id in s.referrals:
                raise RuleBroken(
                    "referral_already_issued", f"referral {e.referral_id} was already issued"
                )
        case ev.ReferralAccepted() | ev.ReferralRejected():
            r = s.referrals.get(e.referral_id)
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
            if e.treatment_id in s.treatments:
                raise RuleBroken(
                    "treatment_already_decided",
                    f"treatment {e.treatment_id} was already decided",
                )
            if e.referral_id is not None and e.referral_id not in s.referrals:
                raise RuleBroken(
                    "unknown_referral",
                    f"treatment_decided: referral {e.referral_id} was never issued",
                )
            if e.referral_id is not None and s.referrals[e.referral_id].status == "rejected":
                raise RuleBroken(
                    "referral_rejected",
                    f"treatment_decided: referral {e.referral_id} was rejected",
                )
        case ev.TreatmentGiven():
            _treatment(s, e.treatment_id, e.type)
            if e.treatment_id in s.treatments_given:
                raise RuleBroken(
                    "treatment_already_given", f"treatment {e.treatment_id} was already given"
                )


def _contact(s: EpisodeState, contact_id: str, event_type: str) -> Contact:
    c = s.contacts.get(contact_id)
    if c is None:
        raise RuleBroken(
            "unknown_contact",
            f"{event_type}: contact {contact_id} was never requested in this episode",
        )
    return c


def _treatment(s: EpisodeState, treatment_id: str, event_type: str) -> None:
    if treatment_id not in s.treatments:
        raise RuleBroken(
            "unknown_treatment",
            f"{event_type}: treatment {treatment_id} was never decided in this episode",
        )


def _guarantee_subject(s: EpisodeState, e: ev.GuaranteeSubjectFact) -> None:
    """A care-guarantee fact names a referral or treatment decision of this episode."""
    if e.treatment_id is not None:
        _treatment(s, e.treatment_id, e.type)
    elif e.referral_id not in s.referrals:
        raise RuleBroken(
            "unknown_referral",
            f"{e.type}: referral {e.referral_id} was never issued in this episode",
        )


def _open_contact(s: EpisodeState, contact_id: str, event_type: str) -> Contact:
    c = _contact(s, contact_id, event_type)
    if c.closed:
        raise RuleBroken(
            "contact_closed", f"{event_type}: contact {contact_id} is already {c.status}"
        )
    return c


def _started_contact(s: EpisodeState, contact_id: str, event_type: str) -> Contact:
    c = _open_contact(s, contact_id, event_type)
    if c.status is not ContactStatus.started:
        raise RuleBroken(
            "contact_not_started",
            f"{event_type}: contact {contact_id} was never started",
        )
    return c
