"""The facts a liability decision rests on, folded from an episode's events.

Pure: the live API, the projection and replay all fold the same events through ``EpisodeFacts``
and so hand the decision function the same facts. Late facts (an assessment recorded after the
contact, a corrected home region) simply change the fold, and the decision is recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import ClassVar

from routing.episodes import events as ev
from routing.episodes.vocabulary import (
    AgeBand,
    AssessmentOutcome,
    CareLevel,
    ContactContent,
    ContactMode,
    Profession,
    Specialty,
)


@dataclass(frozen=True)
class AssessmentFact:
    contact_id: str | None
    criteria_set_id: str
    criteria_version: str
    owning_region: str | None
    answered: frozenset[str]
    outcome: AssessmentOutcome
    assessor_profession: Profession
    assessor_licensed: bool
    occurred_at: datetime
    recorded_at: datetime | None


@dataclass(frozen=True)
class ReferralFact:
    referral_id: str
    target_region: str
    target_care_level: CareLevel
    issued_at: datetime
    status: str  # issued | accepted | rejected
    specialty: Specialty | None = None


@dataclass(frozen=True)
class ContactFacts:
    """Everything known about one contact that can change who pays for it."""

    episode_id: str
    contact_id: str
    home_county: str
    home_municipality: str
    home_region_corrected: bool
    care_region: str
    care_level: CareLevel
    provider_id: str
    care_unit_id: str
    requested_mode: ContactMode
    status: str = "requested"  # requested | completed | cancelled
    mode: ContactMode | None = None
    profession: Profession | None = None
    content: ContactContent | None = None
    started_at: datetime | None = None
    started_recorded_at: datetime | None = None  # when we learnt it started (C9)
    completed_at: datetime | None = None
    assessments: tuple[AssessmentFact, ...] = ()
    referrals: tuple[ReferralFact, ...] = ()
    specialty: Specialty | None = None
    age_band: AgeBand | None = None

    @property
    def out_of_region(self) -> bool:
        return self.home_county != self.care_region

    @property
    def is_distance(self) -> bool:
        return self.mode is not None and self.mode.is_distance


@dataclass
class EpisodeFacts:
    """Fold of one episode's events into per-contact facts."""

    READS: ClassVar[frozenset[str]] = frozenset(
        {
            "contact_requested",
            "contact_started",
            "contact_mode_changed",
            "contact_completed",
            "physical_visit_held",
            "contact_cancelled",
            "need_and_suitability_assessed",
            "referral_issued",
            "referral_accepted",
            "referral_rejected",
            "home_region_corrected",
        }
    )
    """The event types ``apply`` folds (every other type leaves the fold as it was): what
    a projection built on this fold keeps and is handed (tests/unit/test_fold_reads.py)."""

    episode_id: str
    home_county: str = ""
    home_municipality: str = ""
    home_region_corrected: bool = False
    contacts: dict[str, ContactFacts] = field(default_factory=dict)
    assessments: list[AssessmentFact] = field(default_factory=list)
    referrals: dict[str, ReferralFact] = field(default_factory=dict)

    def apply(self, e: ev.EpisodeEvent, recorded_at: datetime | None = None) -> set[str]:
        """Folds one event; returns the contact ids whose decision may have changed."""
        match e:
            case (
                ev.ContactStarted() | ev.ContactModeChanged() | ev.ContactCompleted()
                | ev.PhysicalVisitHeld() | ev.ContactCancelled()
            ):  # fmt: skip
                return self._fold_contact(e, recorded_at)
            case ev.ContactRequested():
                return self._requested(e)
            case ev.NeedAndSuitabilityAssessed():
                self.assessments.append(
                    AssessmentFact(
                        contact_id=e.contact_id,
                        criteria_set_id=e.criteria_set.id,
                        criteria_version=e.criteria_set.version,
                        owning_region=e.criteria_set.owning_region,
                        answered=frozenset(e.answered_criteria),
                        outcome=e.outcome,
                        assessor_profession=e.assessor_profession,
                        assessor_licensed=e.assessor_licensed,
                        occurred_at=e.occurred_at,
                        recorded_at=recorded_at,
                    )
                )
                return self._refresh_all()
            case ev.ReferralIssued():
                self.referrals[e.referral_id] = ReferralFact(
                    e.referral_id,
                    e.target_region,
                    e.target_care_level,
                    e.occurred_at,
                    "issued",
                    e.specialty,
                )
                return self._refresh_all()
            case ev.ReferralAccepted() | ev.ReferralRejected():
                r = self.referrals.get(e.referral_id)
                if r is not None:
                    status = "accepted" if isinstance(e, ev.ReferralAccepted) else "rejected"
                    self.referrals[e.referral_id] = replace(r, status=status)
                return self._refresh_all()
            case ev.HomeRegionCorrected():
                self.home_county = e.home_region.county
                self.home_municipality = e.home_region.municipality
                self.home_region_corrected = True
                return self._refresh_all()
        return set()

    def _requested(self, e: ev.ContactRequested) -> set[str]:
        """A new contact: the episode's home region is the first one named (until corrected)."""
        if not self.home_county:
            self.home_county = e.home_region.county
            self.home_municipality = e.home_region.municipality
        self.contacts[e.contact_id] = self._with_episode_facts(
            ContactFacts(
                episode_id=self.episode_id,
                contact_id=e.contact_id,
                home_county=self.home_county,
                home_municipality=self.home_municipality,
                home_region_corrected=self.home_region_corrected,
                care_region=e.care_region,
                care_level=e.care_level,
                provider_id=e.provider_id,
                care_unit_id=e.care_unit_id,
                requested_mode=e.requested_mode,
                specialty=e.specialty,
                age_band=e.age_band,
            )
        )
        return {e.contact_id}

    def _fold_contact(self, e: ev.EpisodeEvent, recorded_at: datetime | None) -> set[str]:
        """A contact's own course: start (and when we learnt it, C9), mode, completion, a
        physical visit held, cancellation."""
        match e:
            case ev.ContactStarted():
                return self._update(
                    e.contact_id, mode=e.mode, started_at=e.occurred_at,
                    started_recorded_at=recorded_at,
                )  # fmt: skip
            case ev.ContactModeChanged():
                return self._update(e.contact_id, mode=e.mode)
            case ev.ContactCompleted():
                c = self.contacts.get(e.contact_id)
                started = c.started_at if c and c.started_at else e.occurred_at
                learnt = c.started_recorded_at if c and c.started_at else recorded_at
                return self._update(
                    e.contact_id, status="completed", mode=e.mode, profession=e.profession,
                    content=e.content, completed_at=e.occurred_at, started_at=started,
                    started_recorded_at=learnt,
                )  # fmt: skip
            case ev.PhysicalVisitHeld():
                return self._update(
                    e.contact_id, status="completed", mode=ContactMode.physical,
                    profession=e.profession, content=e.content,
                    started_at=e.occurred_at, completed_at=e.occurred_at,
                    started_recorded_at=recorded_at,
                )  # fmt: skip
            case ev.ContactCancelled():
                return self._update(e.contact_id, status="cancelled")
        return set()

    def _update(self, contact_id: str, **changes: object) -> set[str]:
        c = self.contacts.get(contact_id)
        if c is None:
            return set()
        self.contacts[contact_id] = self._with_episode_facts(c, changes)
        return {contact_id}

    def _refresh_all(self) -> set[str]:
        for cid, c in self.contacts.items():
            self.contacts[cid] = self._with_episode_facts(c)
        return set(self.contacts)

    def _with_episode_facts(
        self, c: ContactFacts, changes: dict[str, object] | None = None
    ) -> ContactFacts:
        """A copy of ``c`` with ``changes`` and the episode-wide facts as they are now.

        Copies the instance dict instead of calling ``dataclasses.replace``: folding is the
        hot loop of every replay, ``replace`` costs five times as much, and ``ContactFacts``
        has no ``__post_init__`` that a copy would skip."""
        new = object.__new__(ContactFacts)
        state = new.__dict__
        state.update(c.__dict__)
        if changes:
            state.update(changes)
        state["home_county"] = self.home_county
        state["home_municipality"] = self.home_municipality
        state["home_region_corrected"] = self.home_region_corrected
        state["assessments"] = tuple(
            a for a in self.assessments if a.contact_id is None or a.contact_id == c.contact_id
        )
        state["referrals"] = tuple(self.referrals.values())
        return new
