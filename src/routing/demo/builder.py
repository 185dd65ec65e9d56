"""The building blocks of one demo episode: the clock, and each step a front-end records.

Why apart from the scenarios: every scenario is a different *sequence* of the same steps
(request, triage, assessment, distance contact, visit, referral); the steps own the event
shapes that ``parse_event`` must accept and the clock that keeps events in recording order.
A change to an event's payload is made here once, for every scenario.

All randomness comes from the generator's single ``random.Random``; the order of draws is part
of what makes a seed reproduce byte for byte, so do not reorder calls within a step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from routing.demo.providers import URGENCIES, VISIT_PROFESSIONS
from routing.kernel.calendar import STOCKHOLM
from routing.reference.catalogue import load_catalogue

if TYPE_CHECKING:
    from routing.demo.generator import EpisodeGenerator

TZ = STOCKHOLM  # the demo writes local times as a front-end in Sweden would
Event = dict[str, Any]

_PRINCIPLES = ("physical_meeting_required", "service_unsuited_to_patient",
               "insufficient_patient_information", "follow_up_not_possible")  # fmt: skip


class Cutoff(Exception):  # noqa: N818 - control flow: the episode runs past the window
    pass


def region_unit(county: str, suffix: str) -> str:
    """Illustrative region HSA-id: 'SE23210000' + län code + '-' + unit suffix."""
    return f"SE23210000{county}-{suffix}"


class EpisodeBuilder:
    """Builds one episode in recording order; ``emit`` raises Cutoff at the window's end."""

    def __init__(self, g: EpisodeGenerator, t0: datetime) -> None:
        self.g, self.rng, self.t = g, g.rng, t0
        self.events: list[Event] = []
        self.episode_id = str(g.uuid())
        self.patient = f"psn_{self.rng.getrandbits(64):016x}"
        self.home: str = g.counties.pick(self.rng)
        self.muni = self.rng.choice(g.municipalities[self.home])
        self.vc = region_unit(self.home, f"VC{self.muni}")  # the patient's own vårdcentral
        self.age_band = "18+"
        """The patient's age band (set by the scenario; the guarantee's demo steps use it)."""

    def emit(self, type_: str, at: datetime, source: str, **data: Any) -> None:
        if at >= self.g.end:
            raise Cutoff
        self.events.append(
            {
                "type": type_,
                "event_id": str(self.g.uuid()),
                "episode_id": self.episode_id,
                "source": source,
                "occurred_at": at.isoformat(timespec="seconds"),
                **data,
            }
        )

    def later(self, lo: int, hi: int) -> datetime:
        self.t += timedelta(minutes=self.rng.randint(lo, hi), seconds=self.rng.randrange(60))
        return self.t

    def workday(self, lo: int, hi: int) -> datetime:
        """Office hours on a weekday lo..hi days on, never before the episode clock."""
        d = self.t.date() + timedelta(days=self.rng.randint(lo, hi))
        hour, minute = self.rng.randint(8, 15), self.rng.randrange(0, 60, 5)
        while True:
            at = datetime(d.year, d.month, d.day, hour, minute, tzinfo=TZ)
            if d.weekday() < 5 and at > self.t:
                self.t = at
                return at
            d += timedelta(days=1)

    def cancel(self, cid: str, reason: str, src: str, lo: int = 1, hi: int = 5) -> None:
        self.emit("contact_cancelled", self.later(lo, hi), src, contact_id=cid, reason=reason)

    def request(self, cid: str, mode: str, care: str, provider: str, unit: str, src: str) -> None:
        self.emit(
            "contact_requested",
            self.t,
            src,
            contact_id=cid,
            requested_mode=mode,
            patient=self.patient,
            home_region={"county": self.home, "municipality": self.muni},
            care_region=care,
            provider_id=provider,
            care_unit_id=unit,
            care_level="primary",
            listed_unit_id=self.vc,
            age_band=self.age_band,
        )

    def triage(self, src: str, by: dict[str, str], at: datetime | None = None) -> str:
        urgency: str = URGENCIES.pick(self.rng)
        level = "specialised_outpatient" if urgency == "emergency" else "primary"
        self.emit(
            "triage_completed",
            at or self.later(1, 4),
            src,
            contact_id="c1",
            urgency=urgency,
            recommended_care_level=level,
            triaged_by=by,
        )
        return urgency

    def assess(
        self,
        care: str,
        src: str,
        at: datetime,
        *,
        physical: bool = False,
        owner: str | None = None,
    ) -> None:
        """Need-and-suitability assessment by ``owner``'s criteria (default: the care region)."""
        rng, owner = self.rng, owner or care
        # The set the assessing region had adopted that day (reference data); a region without
        # one uses a local set the reference data does not know (inadequate under C4).
        adopted = load_catalogue().criteria_sets_adopted_by(owner, at.date())
        if adopted:
            chosen = adopted[0]
            ref = {
                "id": chosen.id,
                "version": chosen.version,
                "owning_region": chosen.owning_region,
            }
            answered = list(chosen.required_criteria)
        else:
            ref = {"id": f"local-{owner}", "version": f"{at.year}.1", "owning_region": owner}
            answered = ["p1", "p2", "p3", "p4"]
        if rng.random() < 0.05:  # incomplete: inadequate under C4
            answered = answered[: rng.randint(1, len(answered) - 1)]
        r = rng.random()
        prof = "assistant_nurse" if r < 0.03 else "nurse" if r < 0.8 else "doctor"
        self.emit(
            "need_and_suitability_assessed",
            at,
            src,
            contact_id="c1",
            criteria_set=ref,
            answered_criteria=answered,
            outcome="physical_required" if physical else "distance_suitable",
            failed_principles=sorted(rng.sample(_PRINCIPLES, rng.randint(1, 2)))
            if physical
            else [],
            assessor_profession=prof,
            assessor_licensed=prof != "assistant_nurse",
        )

    def distance(
        self,
        mode: str,
        prof: str,
        src: str,
        escalate: float,
        assess_after: tuple[str, str | None] | None = None,
    ) -> None:
        """started → (assessment after the start: not *preceding*, R9) → (to video) → completed."""
        rng = self.rng
        self.emit(
            "contact_started", self.later(2, 45), src, contact_id="c1", mode=mode, profession=prof
        )
        if assess_after is not None:
            self.assess(assess_after[0], src, self.later(1, 5), owner=assess_after[1])
        if mode in ("chat", "phone") and rng.random() < escalate:
            mode = "video"
            self.emit("contact_mode_changed", self.later(3, 10), src, contact_id="c1", mode=mode)
        advice = rng.random() < (0.2 if prof in ("nurse", "assistant_nurse") else 0.03)
        self.emit(
            "contact_completed",
            self.later(5, 25),
            src,
            contact_id="c1",
            mode=mode,
            profession=prof,
            content="advice_only" if advice else "qualified_care",
            physical_follow_up_needed=not advice and rng.random() < 0.06,
        )

    def visit(self, cid: str, unit: str, referral: float) -> None:
        """physical_visit_booked → held, a no-show or a cancellation; then maybe a referral."""
        book, when = self.later(0, 5), self.workday(0, 10)
        self.emit(
            "physical_visit_booked",
            book,
            "region-booking",
            contact_id=cid,
            care_unit_id=unit,
            scheduled_for=when.isoformat(timespec="seconds"),
        )
        r = self.rng.random()
        if r < 0.08:
            why = "patient_did_not_attend" if r < 0.05 else "patient_cancelled"
            return self.cancel(cid, why, "region-booking", 10, 30)
        self.emit(
            "physical_visit_held",
            self.later(15, 40),
            "region-ehr",
            contact_id=cid,
            profession=VISIT_PROFESSIONS.pick(self.rng),
        )
        if self.rng.random() < referral:
            self.referral()

    def referral(self, rid: str = "r1", target: str | None = None) -> None:
        """A referral and what follows it: see ``guarantee.GuaranteeSteps``."""
        raise NotImplementedError

    def own_region_visit(self) -> None:
        """Contact c2: a physical visit at the patient's own vårdcentral after a distance one."""
        self.workday(0, 3)
        self.request(
            "c2", "physical", self.home, region_unit(self.home, "RG"), self.vc, "region-booking"
        )
        self.visit("c2", self.vc, referral=0.15)

    def follow_up(self) -> None:
        last = self.events[-1]
        if last["type"] == "contact_completed" and last["content"] == "qualified_care":
            if last["physical_follow_up_needed"]:
                self.own_region_visit()
            elif self.rng.random() < 0.04:
                self.referral()
