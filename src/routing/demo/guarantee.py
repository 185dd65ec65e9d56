"""The care-guarantee half of a demo episode: the provider's judgement that an assessment is
needed, referrals with a purpose and a specialty, the booked first visit, the treatment given,
and the things that happen while a patient waits (medically caused waiting, a choice of
another region, a refusal, asking again, notice that the limit cannot be met).

Why apart from ``builder.py``: these steps exist to exercise the clocks (exclusions, at-risk
clocks, specialties) and their shares are the demo's story of waiting, not of contacts. Like
the builder, every draw comes from the generator's one ``random.Random``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from routing.demo.builder import TZ, EpisodeBuilder, region_unit
from routing.demo.providers import Table

_REJECTIONS = ("referral lacks the requested examination results",
               "condition can be managed in primary care", "wrong receiving clinic")  # fmt: skip
PURPOSES = Table({"first_visit": 85, "investigation": 5, "examination": 5, "return_visit": 5})
SPECIALTIES = Table({
    "orthopaedics": 20, "dermatology": 15, "ent": 12, "ophthalmology": 12, "gynaecology": 10,
    "urology": 8, "psychiatry": 8, "neuropsychiatric_investigation": 5, "outpatient_surgery": 10,
})  # fmt: skip
AGE_BANDS = Table({"0-1": 3, "2-17": 20, "18+": 77})


class GuaranteeSteps(EpisodeBuilder):
    """Steps that start, stop or pause the care-guarantee clocks."""

    def needs_assessment(self, cid: str, src: str) -> None:
        """The first contact judged an assessment needed that it could not make (the 3-day
        clock starts at the request: HSF 6 kap. 1 § 2)."""
        self.emit("medical_assessment_needed", self.later(1, 10), src, contact_id=cid,
                  judged_by="nurse")  # fmt: skip

    def referral(self, rid: str = "r1", target: str | None = None) -> None:
        """issued (purpose, specialty) → accepted → booked → first visit (→ treatment), or
        rejected (→ sometimes issued again)."""
        rng = self.rng
        target = target or (self.home if rng.random() < 0.9 else self.g.counties.pick(rng))
        unit = region_unit(target, f"SPEC{rng.randint(1, 3)}")
        child = self.age_band != "18+"
        specialty = "child_adolescent_psychiatry" if child and rng.random() < 0.4 else str(
            SPECIALTIES.pick(rng)
        )  # fmt: skip
        purpose = str(PURPOSES.pick(rng))
        issued = self.workday(0, 2)
        self.emit("referral_issued", issued, "region-ehr", referral_id=rid,
                  target_care_level="specialised_outpatient", target_region=target,
                  target_unit_id=unit, specialty=specialty, purpose=purpose)  # fmt: skip
        if rng.random() < 0.2:
            self.emit("referral_rejected", self.workday(2, 14), "remiss-service",
                      referral_id=rid, reason=rng.choice(_REJECTIONS))  # fmt: skip
            if rid == "r1" and rng.random() < 0.5:
                self.referral("r2", target)
            return
        self.emit("referral_accepted", self.workday(1, 14), "remiss-service", referral_id=rid)
        if purpose == "first_visit":
            self.first_visit(rid, target, unit, specialty, issued)

    def first_visit(
        self, rid: str, target: str, unit: str, specialty: str, issued: datetime
    ) -> None:
        """A time booked (sometimes beyond day 90: at risk), what happens while waiting, and
        the visit itself as contact ``s1``; then maybe a treatment decision."""
        rng, subject = self.rng, {"referral_id": rid}
        when = self._booked(subject, issued, 20, 125)
        if self._waiting(subject, issued):
            return
        self.emit("contact_requested", self.later(1, 30), "region-booking", contact_id="s1",
                  requested_mode="physical", patient=self.patient,
                  home_region={"county": self.home, "municipality": self.muni},
                  care_region=target, provider_id=region_unit(target, "RG"), care_unit_id=unit,
                  care_level="specialised_outpatient", specialty=specialty,
                  age_band=self.age_band)  # fmt: skip
        self.emit(
            "physical_visit_booked",
            self.later(1, 5),
            "region-booking",
            contact_id="s1",
            care_unit_id=unit,
            scheduled_for=when.isoformat(timespec="seconds"),
        )
        self.t = max(self.t, when)
        self.emit("physical_visit_held", when, "region-ehr", contact_id="s1", profession="doctor")
        if rng.random() < 0.6:
            decided = self.workday(0, 5)
            self.emit("treatment_decided", decided, "region-ehr", treatment_id="t1",
                      care_unit_id=unit, referral_id=rid)  # fmt: skip
            given = self._booked({"treatment_id": "t1"}, decided, 10, 110)
            if not self._waiting({"treatment_id": "t1"}, decided):
                self.t = max(self.t, given)
                self.emit("treatment_given", given, "region-ehr", treatment_id="t1",
                          care_unit_id=unit)  # fmt: skip

    def _booked(self, subject: dict[str, str], start: datetime, lo: int, hi: int) -> datetime:
        """A time booked lo..hi days after ``start``; beyond day 90 a notice may follow."""
        day = start.date() + timedelta(days=self.rng.randint(lo, hi))
        when = datetime(day.year, day.month, day.day, 10, 0, tzinfo=TZ)
        self.emit("appointment_booked", self.workday(1, 12), "region-booking",
                  scheduled_for=when.isoformat(timespec="seconds"), **subject)  # fmt: skip
        if (day - start.date()).days > 90 and self.rng.random() < 0.5:
            self.emit("limit_notice_given", self.later(5, 60), "region-booking", **subject)
        return max(when, self.t + timedelta(minutes=1))

    def _waiting(self, subject: dict[str, str], start: datetime) -> bool:
        """While waiting: medically caused waiting, another region chosen, or a refusal (which
        the patient may take back). True when the story ends here."""
        r = self.rng.random()
        if r < 0.06:
            first = self.workday(2, 20)
            ends = first.date() + timedelta(days=self.rng.randint(5, 40))
            self.emit(
                "medically_caused_wait",
                first,
                "region-ehr",
                wait_id="w1",
                starts_on=first.date().isoformat(),
                ends_on=ends.isoformat(),
                **subject,
            )
        elif r < 0.10:
            other = self.g.counties.pick(self.rng)
            self.emit("other_region_chosen", self.workday(5, 60), "region-booking",
                      care_region=other, **subject)  # fmt: skip
            return True
        elif r < 0.16:
            offered = start.date() + timedelta(days=self.rng.randint(20, 100))
            self.emit("care_declined", self.workday(3, 30), "region-booking",
                      informed_of_guarantee=self.rng.random() < 0.8,
                      offered_for=offered.isoformat(), **subject)  # fmt: skip
            if self.rng.random() < 0.5:
                self.emit("care_requested_again", self.workday(10, 60), "region-booking",
                          **subject)  # fmt: skip
            return True
        return False
