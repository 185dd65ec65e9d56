"""An episode's facts as the care-guarantee clocks need them (pure fold, no I/O).

Only what can start, end or stop a clock is kept: per contact its request, staff contact,
completion (and whether it was qualified care by licensed staff), booking, cancellation and
declined offers; the episode's triages, referrals and treatment decisions; the home county.
Folding is in recording order; the clocks compare the facts' valid times themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from routing.episodes import events as ev
from routing.episodes.vocabulary import AgeBand, CancellationReason, CareLevel, Specialty, Urgency
from routing.guarantee.days import Exclusion

PATIENT_CAUSED = frozenset(
    {CancellationReason.patient_cancelled, CancellationReason.patient_did_not_attend}
)


@dataclass
class Contact:
    contact_id: str
    requested_at: datetime
    level: CareLevel
    care_region: str
    unit: str
    listed_unit: str | None
    visit_unit: str | None = None
    booked_at: datetime | None = None
    started_at: datetime | None = None
    done_at: datetime | None = None
    done_by: str = ""
    qualified: bool = False  # qualified care by licensed staff
    cancelled: tuple[datetime, CancellationReason] | None = None
    declined: list[datetime] = field(default_factory=list)
    specialty: Specialty | None = None

    def at_unit(self, unit: str) -> bool:
        return unit in (self.unit, self.visit_unit)


@dataclass(frozen=True)
class Step:
    """A fact that can stop a clock: an end (``reason`` None) or an exclusion."""

    at: datetime
    basis: str
    reason: Exclusion | None = None


@dataclass
class SubjectFacts:
    """What was recorded about one 90-day clock's subject (a referral or a treatment)."""

    bookings: list[tuple[datetime, datetime]] = field(default_factory=list)
    """(when booked, booked for)"""
    notices: list[datetime] = field(default_factory=list)
    waits: dict[str, ev.MedicallyCausedWait] = field(default_factory=dict)
    declines: list[ev.CareDeclined] = field(default_factory=list)
    asked_again: list[datetime] = field(default_factory=list)
    other_region: list[tuple[datetime, str]] = field(default_factory=list)


def subject_key(e: ev.GuaranteeSubjectFact) -> str:
    if e.referral_id is not None:
        return f"referral:{e.referral_id}"
    return f"treatment:{e.treatment_id}"


@dataclass
class GuaranteeFacts:
    """One episode, folded. ``fold`` takes the facts in recording order, so the last
    home-region correction recorded wins."""

    READS: ClassVar[frozenset[str]] = frozenset(
        {
            "contact_requested",
            "medical_assessment_needed",
            "treatment_given",
            "home_region_corrected",
            "triage_completed",
            "referral_issued",
            "referral_rejected",
            "treatment_decided",
            "contact_started",
            "contact_completed",
            "physical_visit_held",
            "physical_visit_booked",
            "contact_cancelled",
            "offer_declined",
            # the 90-day clocks' subject facts (``GuaranteeSubjectFact``)
            "appointment_booked",
            "limit_notice_given",
            "medically_caused_wait",
            "care_declined",
            "care_requested_again",
            "other_region_chosen",
        }
    )
    """The event types ``fold`` reads, so the only ones the clocks depend on
    (tests/unit/test_fold_reads.py holds it true)."""

    home: str = ""
    contacts: dict[str, Contact] = field(default_factory=dict)
    triages: list[ev.TriageCompleted] = field(default_factory=list)
    referrals: dict[str, ev.ReferralIssued] = field(default_factory=dict)
    rejected: dict[str, datetime] = field(default_factory=dict)
    treatments: list[ev.TreatmentDecided] = field(default_factory=list)
    given: dict[str, datetime] = field(default_factory=dict)
    needs: dict[str, ev.MedicalAssessmentNeeded] = field(default_factory=dict)
    subjects: dict[str, SubjectFacts] = field(default_factory=dict)
    age_band: AgeBand | None = None

    def subject(self, key: str) -> SubjectFacts:
        return self.subjects.get(key) or SubjectFacts()

    def fold(self, e: ev.EpisodeEvent) -> None:
        c = self.contacts.get(getattr(e, "contact_id", None) or "")
        if isinstance(e, ev.GuaranteeSubjectFact):
            self._fold_subject(self.subjects.setdefault(subject_key(e), SubjectFacts()), e)
            return
        match e:
            case ev.ContactRequested():
                self.home = self.home or e.home_region.county
                self.age_band = self.age_band or e.age_band
                self.contacts[e.contact_id] = Contact(
                    e.contact_id, e.occurred_at, e.care_level, e.care_region, e.care_unit_id,
                    e.listed_unit_id, specialty=e.specialty,
                )  # fmt: skip
            case ev.MedicalAssessmentNeeded():
                self.needs.setdefault(e.contact_id, e)
            case ev.TreatmentGiven():
                self.given.setdefault(e.treatment_id, e.occurred_at)
            case ev.HomeRegionCorrected():
                self.home = e.home_region.county
            case ev.TriageCompleted():
                self.triages.append(e)
            case ev.ReferralIssued():
                self.referrals[e.referral_id] = e
            case ev.ReferralRejected():
                self.rejected[e.referral_id] = e.occurred_at
            case ev.TreatmentDecided():
                self.treatments.append(e)
        if c is None:
            return
        match e:
            case ev.ContactStarted():
                c.started_at = e.occurred_at
            case ev.ContactCompleted() | ev.PhysicalVisitHeld():
                c.done_at, c.done_by = e.occurred_at, f"{e.type} {c.contact_id}"
                c.qualified = e.content.value == "qualified_care" and e.profession.is_licensed
            case ev.PhysicalVisitBooked():
                c.visit_unit, c.booked_at = e.care_unit_id, e.occurred_at
            case ev.ContactCancelled():
                c.cancelled = (e.occurred_at, e.reason)
            case ev.OfferDeclined():
                c.declined.append(e.occurred_at)

    @staticmethod
    def _fold_subject(s: SubjectFacts, e: ev.GuaranteeSubjectFact) -> None:
        match e:
            case ev.AppointmentBooked():
                s.bookings.append((e.occurred_at, e.scheduled_for))
            case ev.LimitNoticeGiven():
                s.notices.append(e.occurred_at)
            case ev.MedicallyCausedWait():
                s.waits[e.wait_id] = e  # the last recorded version of a wait wins
            case ev.CareDeclined():
                s.declines.append(e)
            case ev.CareRequestedAgain():
                s.asked_again.append(e.occurred_at)
            case ev.OtherRegionChosen():
                s.other_region.append((e.occurred_at, e.care_region))

    # --- steps ---------------------------------------------------------------------------

    def _elsewhere(self, c: Contact) -> Exclusion | None:
        """Care taken in another region before the clock was met is the patient's choice."""
        return Exclusion.other_region_choice if c.care_region != self.home else None

    def staff_contacts(self) -> list[Step]:
        steps = []
        for c in self.contacts.values():
            if c.level is not CareLevel.primary:
                continue
            if c.started_at is not None:
                steps.append(Step(c.started_at, f"contact_started {c.contact_id}",
                                   self._elsewhere(c)))  # fmt: skip
            if c.done_at is not None:
                steps.append(Step(c.done_at, c.done_by, self._elsewhere(c)))
        for t in self.triages:
            if t.triaged_by.kind == "profession":
                steps.append(Step(t.occurred_at, f"triage by {t.triaged_by.profession}"))
        return steps

    def assessments(self, contacts: Iterable[Contact] | None = None) -> list[Step]:
        """Qualified care by licensed staff, in ``contacts`` (default: the whole episode)."""
        return [
            Step(c.done_at, c.done_by, self._elsewhere(c))
            for c in (self.contacts.values() if contacts is None else contacts)
            if c.done_at is not None and c.qualified
        ]

    def triage_exclusions(self, contact_id: str) -> list[Step]:
        """Triage to self care or to emergency care: the guarantee is not what governs."""
        reasons = {Urgency.self_care: Exclusion.not_needed, Urgency.emergency: Exclusion.emergency}
        return [
            Step(t.occurred_at, f"triage {t.urgency.value}", reasons[t.urgency])
            for t in self.triages
            if t.urgency in reasons and t.contact_id in (None, contact_id)
        ]

    @staticmethod
    def patient_stops(contacts: Iterable[Contact]) -> list[Step]:
        """A request the patient withdrew (cancelled, did not attend): no clock runs on."""
        return [
            Step(c.cancelled[0], f"{c.cancelled[1].value} {c.contact_id}",
                 Exclusion.patient_cancelled)
            for c in contacts
            if c.cancelled is not None and c.cancelled[1] in PATIENT_CAUSED
        ]  # fmt: skip
