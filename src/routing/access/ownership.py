"""Who owns which facts of an episode (C10), so a front-end sees and changes only its own.

* The **episode** belongs to the provider (and care region) that opened it: the front-end
  of its first ``contact_requested``, the *holder*.
* A **contact** belongs to the provider (and care region) its ``contact_requested`` names.
* A front-end records and sees a fact when it owns what the fact is about: a fact naming a
  contact is its contact owner's; a fact about the episode as a whole (triage or assessment
  without a contact, a referral issued, a treatment decided without a referral, the home
  region corrected) is the holder's.
* Crossing providers follows one rule, the **accepted referral**: a referral names a target
  region; the front-ends of that region may see it and answer it (accepted / rejected; the
  holder may record the answer too), decide treatment on it, and, once it is accepted, open
  their own contacts in the episode (which are then theirs alone). Nothing else crosses.
* The home region is the holder's to correct; when the correction changes another
  provider's invoiced contact, the liability projection issues credit notes (C2), so the
  other provider's invoice lines change only through the credit-note rule.

Pure; the API and the service call it with the episode's current state. Written out, with
the whole matrix, in docs/access.md.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from routing.access.principal import ANY, Principal
from routing.episodes.journey import Contact, EpisodeState, Referral


def _bound(value: str | None, wanted: str) -> bool:
    return value in (ANY, wanted)


def _is(principal: Principal, provider_id: str, care_region: str) -> bool:
    return _bound(principal.provider_id, provider_id) and _bound(principal.care_region, care_region)


def holder(state: EpisodeState) -> Contact:
    """The contact that opened the episode: its provider holds the episode."""
    return next(iter(state.contacts.values()))


def holds(principal: Principal, state: EpisodeState) -> bool:
    first = holder(state)
    return _is(principal, first.provider_id, first.care_region)


def owns_contact(principal: Principal, contact: Contact) -> bool:
    return _is(principal, contact.provider_id, contact.care_region)


def receives(principal: Principal, referral: Referral) -> bool:
    """A front-end of the referral's target region: the side a referral is handed to."""
    return _bound(principal.care_region, referral.target_region)


def may_join(principal: Principal, state: EpisodeState, care_region: str) -> bool:
    """Whether a new contact in ``care_region`` may be opened in the episode: by its holder,
    or through a referral to that region that was accepted."""
    if holds(principal, state):
        return True
    return any(
        r.status == "accepted" and r.target_region == care_region and receives(principal, r)
        for r in state.referrals.values()
    )


def _treatment_referral(state: EpisodeState, fact: str, data: dict[str, Any]) -> str | None:
    """A later fact about a treatment (given, booked, waited, declined...) belongs where its
    decision does: to the referral it was decided on, else to the holder."""
    treatment_id = data.get("treatment_id")
    if treatment_id is None or fact == "treatment_decided":
        return None
    return state.treatment_referrals.get(treatment_id)


def owns_fact(principal: Principal, state: EpisodeState, fact: str, data: dict[str, Any]) -> bool:
    """Whether the fact of type ``fact`` with fields ``data`` (an existing one, or one about
    to be recorded) is the principal's, by the rules above."""
    contact_id = data.get("contact_id")
    if contact_id is not None:
        contact = state.contacts.get(contact_id)
        if contact is None:  # not yet known: the journey rules answer, for parties only
            return holds(principal, state) or any(
                owns_contact(principal, c) for c in state.contacts.values()
            )
        return owns_contact(principal, contact)
    referral_id = data.get("referral_id") or _treatment_referral(state, fact, data)
    if referral_id is not None and fact != "referral_issued":
        referral = state.referrals.get(referral_id)
        return holds(principal, state) or (referral is not None and receives(principal, referral))
    return holds(principal, state)


def sees_fact(principal: Principal, state: EpisodeState, fact: str, data: dict[str, Any]) -> bool:
    """A front-end sees the facts it owns, and the referrals handed to its region."""
    if owns_fact(principal, state, fact, data):
        return True
    referral = state.referrals.get(data.get("referral_id") or "")
    return fact == "referral_issued" and referral is not None and receives(principal, referral)


def is_party(principal: Principal, state: EpisodeState) -> bool:
    """Whether the front-end has anything to see in the episode at all."""
    return (
        holds(principal, state)
        or any(owns_contact(principal, c) for c in state.contacts.values())
        or any(receives(principal, r) for r in state.referrals.values())
    )


def visible_state(principal: Principal, state: EpisodeState) -> EpisodeState:
    """The episode as the front-end may see it: the holder all of its own facts (its
    contacts, referrals, treatments); another party its own contacts and the referrals
    handed to its region. Patient pseudonym and home region stay: both sides treat the
    same patient, and the home region decides who pays for the contacts each one owns."""
    held = holds(principal, state)
    return replace(
        state,
        contacts={k: c for k, c in state.contacts.items() if owns_contact(principal, c)},
        referrals={k: r for k, r in state.referrals.items() if held or receives(principal, r)},
        treatments=dict(state.treatments) if held else {},
    )
