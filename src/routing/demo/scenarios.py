"""The kinds of episode the demo produces, each a method of ``Episode`` named in SCENARIOS.

Why apart from the steps: a scenario is the *story* (a national provider's chat, the region's
1177 door, a declined distance offer, free choice of a vårdcentral elsewhere) and the shares
in SCENARIOS say how common each story is; the steps in ``builder.py`` only record events.
Adding a scenario means a method here and a weight in SCENARIOS, nothing more.
"""

from __future__ import annotations

from routing.demo.builder import region_unit
from routing.demo.guarantee import AGE_BANDS, GuaranteeSteps
from routing.demo.providers import (
    PROFESSION_SPLITS,
    PROFESSIONS_004,
    REGION_DIGITAL_PROFESSIONS,
    VISIT_PROFESSIONS,
    Table,
)

SCENARIOS = {"out_of_region_digital": 40, "in_region_digital": 24, "in_region_physical": 31,
             "out_of_region_physical": 5}  # fmt: skip
"""Share of episodes per scenario (a method of Episode each)."""
SCENARIO_PICK = Table(SCENARIOS)


def _algorithm(source: str) -> dict[str, str]:
    name = "1177-symtombedomning" if source == "1177-direkt" else f"{source}-triage"
    return {"kind": "algorithm", "algorithm": name, "version": "2025.2"}


class Episode(GuaranteeSteps):
    """One episode; the generator calls the scenario method SCENARIO_PICK draws."""

    def begin(self) -> None:
        """Before any scenario: the patient's age band."""
        self.age_band = str(AGE_BANDS.pick(self.rng))

    def out_of_region_digital(self) -> None:
        """A national provider's contact, invoiced by its contracting region to the home one."""
        rng = self.rng
        prof: str = PROFESSIONS_004.pick(rng)
        prof = PROFESSION_SPLITS[prof].pick(rng) if prof in PROFESSION_SPLITS else prof
        p = self.g.provider_for(prof, self.home)
        mode, care, src = rng.choice(p.modes), p.care_region, p.source
        self.request("c1", mode, care, p.provider_id, p.care_unit_id, src)
        triage_at = None
        if rng.random() < 0.7:
            if rng.random() < 0.05:
                triage_at = self.later(1, 4)  # happens now, documented after the contact
            elif self.triage(src, _algorithm(src)) == "emergency":
                return self.cancel("c1", "provider_cancelled", src)
        owner = self.home if rng.random() < 0.05 else None  # criteria of the wrong region
        r, late_at = rng.random(), None
        if r < 0.45:
            self.assess(care, src, self.later(2, 10), owner=owner)
        elif r < 0.51:  # physical meeting needed: off to the patient's own vårdcentral
            self.assess(care, src, self.later(2, 10), physical=True, owner=owner)
            self.cancel("c1", "provider_cancelled", src)
            return self.own_region_visit()
        elif r < 0.61:
            late_at = self.later(2, 10)  # assessed before the contact, documented after it
        # 0.61 <= r < 0.78: assessed only after the start; r >= 0.78: no assessment at all.
        if rng.random() < 0.03:
            return self.cancel("c1", "patient_cancelled", src, 5, 60)
        self.distance(mode, prof, src, 0.15, (care, owner) if 0.61 <= r < 0.78 else None)
        if late_at is not None:
            self.assess(care, src, late_at, owner=owner)
        if triage_at is not None:
            self.triage(src, _algorithm(src), at=triage_at)
        self.follow_up()

    def in_region_digital(self) -> None:
        """The own region's digital door (R7): 1177 direkt, nurse-first."""
        rng, home, src = self.rng, self.home, "1177-direkt"
        mode = rng.choice(("chat", "chat", "video", "phone", "phone"))
        self.request("c1", mode, home, region_unit(home, "RG"), region_unit(home, "DIG1"), src)
        if rng.random() < 0.8:
            nurse = {"kind": "profession", "profession": "nurse"}
            by_nurse = rng.random() >= 0.6
            if self.triage(src, nurse if by_nurse else _algorithm(src)) == "emergency":
                return self.cancel("c1", "provider_cancelled", src)
            if by_nurse and rng.random() < 0.3:  # the 3-day assessment clock starts
                self.needs_assessment("c1", src)
                if rng.random() < 0.4:  # assessed at the own vårdcentral, days later
                    self.cancel("c1", "provider_cancelled", src)
                    return self.own_region_visit()
        r = rng.random()
        if r < 0.08:  # necessary physical care (C6), booked on the same contact
            self.assess(home, src, self.later(2, 10), physical=True)
            return self.visit("c1", self.vc, referral=0.2)
        if r < 0.43:
            self.assess(home, src, self.later(2, 10))
        prof = REGION_DIGITAL_PROFESSIONS.pick(rng)
        self.distance(mode, prof, src, 0.10, (home, None) if r > 0.9 else None)
        self.follow_up()

    def in_region_physical(self) -> None:
        """Necessary, preferred, unassessed or avoidable physical visits (C6), or a taken offer."""
        rng, home, src, r = self.rng, self.home, "region-booking", self.rng.random()
        necessary, avoidable, offered = 0.35 <= r < 0.55, 0.87 <= r < 0.95, 0.55 <= r < 0.87
        mode = "phone" if necessary else "physical"
        self.request("c1", mode, home, region_unit(home, "RG"), self.vc, src)
        if not offered and rng.random() < 0.3:  # the nurse on the phone: same-day contact,
            nurse = {"kind": "profession", "profession": "nurse"}  # a doctor's assessment owed
            self.emit(
                "triage_completed",
                self.later(5, 300),
                src,
                contact_id="c1",
                urgency="within_days",
                recommended_care_level="primary",
                triaged_by=nurse,
            )
            self.needs_assessment("c1", src)
        if necessary or avoidable:
            self.assess(home, "region-ehr", self.later(2, 15), physical=necessary)
        elif offered:
            no_tools = r >= 0.82
            modes = ["video", "chat"] if no_tools else ["video", "phone"]
            self.emit(
                "distance_contact_offered", self.later(1, 5), src, contact_id="c1", modes=modes
            )
            if r < 0.75:  # the patient prefers a physical visit: permitted, not necessary (R6)
                self.emit(
                    "offer_declined", self.later(1, 5), src, contact_id="c1", reason="preference"
                )
                return self.visit("c1", self.vc, referral=0.12)
            if no_tools:  # cannot use digital tools: the telephone must be offered (R6)
                self.emit(
                    "offer_declined",
                    self.later(1, 5),
                    src,
                    contact_id="c1",
                    reason="cannot_use_digital_tools",
                )
                self.emit(
                    "distance_contact_offered",
                    self.later(1, 3),
                    src,
                    contact_id="c1",
                    modes=["phone"],
                )
            mode = "phone" if no_tools else rng.choice(modes)
            self.emit("offer_accepted", self.later(1, 5), src, contact_id="c1", mode=mode)
            self.workday(0, 3)
            self.distance(mode, VISIT_PROFESSIONS.pick(rng), "region-ehr", 0.0)
            return self.follow_up()
        self.visit("c1", self.vc, referral=0.12)

    def out_of_region_physical(self) -> None:
        """A visit at a vårdcentral in another region (free choice; R8 keeps applying)."""
        care = self.home
        while care == self.home:
            care = self.g.counties.pick(self.rng)
        unit = region_unit(care, f"VC{care}80")
        self.request("c1", "physical", care, region_unit(care, "RG"), unit, "region-booking")
        self.visit("c1", unit, referral=0.1)

    def correct_home_region(self) -> None:
        """Rare: folkbokföring at the start was recorded wrongly (credit reason 1)."""
        new = self.home
        while new == self.home:
            new = self.g.counties.pick(self.rng)
        muni = self.rng.choice(self.g.municipalities[new])
        self.emit(
            "home_region_corrected",
            self.workday(1, 20),
            "folkbokforing-sync",
            home_region={"county": new, "municipality": muni},
        )
