"""Seeded, realistic demo care episodes: what a year of Swedish front-ends would post.

Why: demos, load tests and the liability projections need data with the real mix (seed 004:
out-of-region digital contacts with national providers contracted by Sörmland and Jönköping,
67 % doctor ... 2 % other) that also exercises every rule: offers declined by preference,
chat escalated to video, assessments before, after or absent, late documentation, referrals,
a corrected home region. Each episode is a list of JSON-ready event dicts in recording order,
valid for ``parse_event`` and accepted by the journey rules.

One ``random.Random(seed)`` drives everything, ids included, so a seed gives byte-identical
output. Providers and HSA-ids are ILLUSTRATIVE look-alikes, not real identifiers. No pydantic
on the hot path: generation must stay well above 20 000 events/s.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from routing.reference.catalogue import load_catalogue
from routing.reference.regions import Regions, load_regions

TZ = ZoneInfo("Europe/Stockholm")
Event = dict[str, Any]


@dataclass(frozen=True)
class DigitalProvider:
    """A national digital provider under contract with one region (its care region)."""

    name: str
    provider_id: str
    care_unit_id: str
    care_region: str
    source: str
    modes: tuple[str, ...]
    professions: frozenset[str]
    weight: float


_CORE = frozenset({"doctor", "nurse", "psychologist", "psychotherapist", "counsellor"})
PROVIDERS: tuple[DigitalProvider, ...] = (
    DigitalProvider("kry-like", "SE5569990001-KRY", "SE5569990001-VC01", "04", "kry-chat",
                    ("chat", "chat", "video"), _CORE | {"physiotherapist"}, 0.4),
    DigitalProvider("doktorse-like", "SE5569990002-DSE", "SE5569990002-VC01", "04",
                    "doktorse-app", ("chat", "chat", "phone"), _CORE | {"assistant_nurse"}, 0.3),
    DigitalProvider("mindoktor-like", "SE5569990003-MD", "SE5569990003-VC01", "06",
                    "mindoktor-app", ("async_message", "chat", "video"),
                    _CORE | {"physiotherapist", "assistant_nurse"}, 0.3),
    DigitalProvider("jointacademy-like", "SE5569990004-JA", "SE5569990004-RH01", "04",
                    "jointacademy-app", ("async_message", "video"),
                    frozenset({"physiotherapist"}), 1.6),
)  # fmt: skip

PROFESSION_MIX_004 = {
    "doctor": 67,
    "physiotherapist": 8,
    "psychologist": 5,
    "nurse": 19,
    "other": 2,
}
"""Seed 004, out-of-region digital contacts 2020 (the published shares sum to 101 %)."""
_SPLIT = {"psychologist": {"psychologist": 85, "psychotherapist": 15},
          "other": {"counsellor": 50, "assistant_nurse": 50}}  # fmt: skip
_REGION_DIGITAL = {"nurse": 45, "doctor": 38, "physiotherapist": 7, "psychologist": 5,
                   "counsellor": 3, "other_licensed": 2}  # fmt: skip
_AT_VISIT = {"doctor": 60, "nurse": 25, "physiotherapist": 10, "psychologist": 5}
_URGENCY = {"same_day": 45, "within_days": 35, "planned": 10, "self_care": 7, "emergency": 3}
_HOURS = dict(zip(range(7, 22), (3, 8, 9, 8, 7, 6, 6, 6, 6, 6, 6, 7, 8, 7, 4), strict=True))
_PRINCIPLES = ("physical_meeting_required", "service_unsuited_to_patient",
               "insufficient_patient_information", "follow_up_not_possible")  # fmt: skip
_REJECTIONS = ("referral lacks the requested examination results",
               "condition can be managed in primary care", "wrong receiving clinic")  # fmt: skip
SCENARIOS = {"out_of_region_digital": 40, "in_region_digital": 24, "in_region_physical": 31,
             "out_of_region_physical": 5}  # fmt: skip
"""Share of episodes per scenario (a method of _Episode each)."""


class _Table:
    """Weighted choice on precomputed cumulative weights (random.choices re-sums each call)."""

    def __init__(self, weights: Mapping[Any, float]) -> None:
        self.items = list(weights)
        self.cum = list(accumulate(weights.values()))

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


_MIX, _SPLIT_T = _Table(PROFESSION_MIX_004), {k: _Table(v) for k, v in _SPLIT.items()}
_REGION_MIX, _VISIT, _URG = _Table(_REGION_DIGITAL), _Table(_AT_VISIT), _Table(_URGENCY)
_HOUR, _SCENARIO = _Table(_HOURS), _Table(SCENARIOS)


class _Cutoff(Exception):  # noqa: N818 - control flow: the episode runs past the window
    pass


def _unit(county: str, suffix: str) -> str:
    """Illustrative region HSA-id: 'SE23210000' + län code + '-' + unit suffix."""
    return f"SE23210000{county}-{suffix}"


class _Episode:
    """Builds one episode in recording order; ``emit`` raises _Cutoff at the window's end."""

    def __init__(self, g: _Generator, t0: datetime) -> None:
        self.g, self.rng, self.t = g, g.rng, t0
        self.events: list[Event] = []
        self.episode_id = str(g.uuid())
        self.patient = f"psn_{self.rng.getrandbits(64):016x}"
        self.home: str = g.counties.pick(self.rng)
        self.muni = self.rng.choice(g.municipalities[self.home])
        self.vc = _unit(self.home, f"VC{self.muni}")  # the patient's own vårdcentral

    def emit(self, type_: str, at: datetime, source: str, **data: Any) -> None:
        if at >= self.g.end:
            raise _Cutoff
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
        )

    def triage(self, src: str, by: dict[str, str], at: datetime | None = None) -> str:
        urgency: str = _URG.pick(self.rng)
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
            profession=_VISIT.pick(self.rng),
        )
        if self.rng.random() < referral:
            self.referral()

    def referral(self, rid: str = "r1", target: str | None = None) -> None:
        """issued → accepted (→ treatment_decided) or rejected (→ sometimes issued again)."""
        rng = self.rng
        target = target or (self.home if rng.random() < 0.9 else self.g.counties.pick(rng))
        unit = _unit(target, f"SPEC{rng.randint(1, 3)}")
        self.emit(
            "referral_issued",
            self.workday(0, 2),
            "region-ehr",
            referral_id=rid,
            target_care_level="specialised_outpatient",
            target_region=target,
            target_unit_id=unit,
        )
        if rng.random() < 0.2:
            self.emit(
                "referral_rejected",
                self.workday(2, 14),
                "remiss-service",
                referral_id=rid,
                reason=rng.choice(_REJECTIONS),
            )
            if rid == "r1" and rng.random() < 0.5:
                self.referral("r2", target)
            return
        self.emit("referral_accepted", self.workday(1, 14), "remiss-service", referral_id=rid)
        if rng.random() < 0.6:
            self.emit(
                "treatment_decided",
                self.workday(14, 80),
                "region-ehr",
                treatment_id="t1",
                care_unit_id=unit,
                referral_id=rid,
            )

    def own_region_visit(self) -> None:
        """Contact c2: a physical visit at the patient's own vårdcentral after a distance one."""
        self.workday(0, 3)
        self.request("c2", "physical", self.home, _unit(self.home, "RG"), self.vc, "region-booking")
        self.visit("c2", self.vc, referral=0.15)

    def follow_up(self) -> None:
        last = self.events[-1]
        if last["type"] == "contact_completed" and last["content"] == "qualified_care":
            if last["physical_follow_up_needed"]:
                self.own_region_visit()
            elif self.rng.random() < 0.04:
                self.referral()

    # --- scenarios (SCENARIOS names them) ------------------------------------------------

    def out_of_region_digital(self) -> None:
        """A national provider's contact, invoiced by its contracting region to the home one."""
        rng = self.rng
        prof: str = _MIX.pick(rng)
        prof = _SPLIT_T[prof].pick(rng) if prof in _SPLIT_T else prof
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
        self.request("c1", mode, home, _unit(home, "RG"), _unit(home, "DIG1"), src)
        if rng.random() < 0.8:
            nurse = {"kind": "profession", "profession": "nurse"}
            if self.triage(src, _algorithm(src) if rng.random() < 0.6 else nurse) == "emergency":
                return self.cancel("c1", "provider_cancelled", src)
        r = rng.random()
        if r < 0.08:  # necessary physical care (C6), booked on the same contact
            self.assess(home, src, self.later(2, 10), physical=True)
            return self.visit("c1", self.vc, referral=0.2)
        if r < 0.43:
            self.assess(home, src, self.later(2, 10))
        self.distance(mode, _REGION_MIX.pick(rng), src, 0.10, (home, None) if r > 0.9 else None)
        self.follow_up()

    def in_region_physical(self) -> None:
        """Necessary, preferred, unassessed or avoidable physical visits (C6), or a taken offer."""
        rng, home, src, r = self.rng, self.home, "region-booking", self.rng.random()
        necessary, avoidable, offered = 0.35 <= r < 0.55, 0.87 <= r < 0.95, 0.55 <= r < 0.87
        mode = "phone" if necessary else "physical"
        self.request("c1", mode, home, _unit(home, "RG"), self.vc, src)
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
            self.distance(mode, _VISIT.pick(rng), "region-ehr", 0.0)
            return self.follow_up()
        self.visit("c1", self.vc, referral=0.12)

    def out_of_region_physical(self) -> None:
        """A visit at a vårdcentral in another region (free choice; R8 keeps applying)."""
        care = self.home
        while care == self.home:
            care = self.g.counties.pick(self.rng)
        unit = _unit(care, f"VC{care}80")
        self.request("c1", "physical", care, _unit(care, "RG"), unit, "region-booking")
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


def _algorithm(source: str) -> dict[str, str]:
    name = "1177-symtombedomning" if source == "1177-direkt" else f"{source}-triage"
    return {"kind": "algorithm", "algorithm": name, "version": "2025.2"}


class _Generator:
    def __init__(self, seed: int, start: date, end: date, regions: Regions) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data must be reproducible, not secret
        self.start, self.days = start, (end - start).days
        self.end = datetime(end.year, end.month, end.day, tzinfo=TZ)
        self.counties = _Table(dict(sorted(regions.population_weights().items())))
        self.municipalities = {
            r.county: [m.code for m in r.municipalities] for r in regions.regions
        }
        self._providers: dict[tuple[str, str], _Table] = {}

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def provider_for(self, profession: str, home: str) -> DigitalProvider:
        """A provider offering ``profession`` whose care region is not the patient's ``home``."""
        if (table := self._providers.get((profession, home))) is None:
            fits = [p for p in PROVIDERS if profession in p.professions and p.care_region != home]
            table = self._providers[profession, home] = _Table({p: p.weight for p in fits})
        provider: DigitalProvider = table.pick(self.rng)
        return provider

    def episode(self) -> list[Event]:
        rng = self.rng
        d = self.start + timedelta(days=rng.randrange(self.days))
        t0 = datetime(
            d.year, d.month, d.day, _HOUR.pick(rng), rng.randrange(60), rng.randrange(60), tzinfo=TZ
        )
        ep = _Episode(self, t0)
        try:
            getattr(ep, _SCENARIO.pick(rng))()
            if rng.random() < 0.005:
                ep.correct_home_region()
        except _Cutoff:
            pass  # the window ends mid-episode, as in any extract: the rest has not happened
        return ep.events


def generate_episodes(
    seed: int, count: int, *, start: date, end: date, regions: Regions | None = None
) -> Iterator[list[Event]]:
    """Yields ``count`` episodes, each a list of event dicts in recording order.

    Every ``occurred_at`` lies in [start, end), Europe/Stockholm; an episode that would run
    past ``end`` is cut there. The same arguments give the same output, byte for byte.
    """
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    gen = _Generator(seed, start, end, regions or load_regions())
    for _ in range(count):
        yield gen.episode()
