"""The fast what-if: a policy simulation from the liability read model's decision inputs.

The log path (routing.audit.simulation's ``Simulator``) reads and folds every fact of the
store, about 38 s per million facts here. But a decision depends only on its inputs, the
rulebook policy and the reference data (the decision cache relies on the same), and the
liability read model keeps each current decision's inputs (``liability_decisions.inputs``,
routing.liability.inputs). So the what-if reads those rows, groups them into classes that
``decide`` cannot tell apart, decides one member of each class under both policies and counts
every member: the same ``Simulation`` the log path gives, field for field.

A class keeps everything that can change the outcome: the regions, care level, mode,
profession, content, specialty, age band, the contact's date class, and of its assessments
and referrals what the rules conclude from them: is an assessment adequate (policy-free),
does a referral cover the contact, is one a planned inpatient referral. A date class is the
stretch between two days on which something dated changes: a reference entry starting or
ending (``Catalogue.changes``) or either policy's Ds 2023:27 effective date (the rulebook's
date switch), so every day of a class gets the same rulebook, prices, fees, reimbursements,
referral rules and criteria. Clock times beyond that, ids and recording times only shape the
trace and flags, never who pays or how much; each contact's own date and care region go
into its change, not its class's.

Pure: the caller reads the rows (projections/whatif.py) and says which path it took.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import date

import orjson

from routing.audit.simulation import (
    ContactChange,
    Outcome,
    RegionTotals,
    Scope,
    Simulation,
    outcome,
)
from routing.episodes.vocabulary import CareLevel
from routing.kernel.calendar import swedish_date
from routing.liability.engine import assessment_problem, decide
from routing.liability.facts import ContactFacts
from routing.liability.inputs import build, parse
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions

Row = tuple[str, str, str, str, str]
"""(episode id, contact id, what-if key, contact day, assessment days) of one liability
decision that a what-if decides (routing.liability.inputs ``whatif_key``; the caller keeps
to the scope's days and home regions and to contacts that have a key)."""

Group = tuple[str, int, str, int, str]
"""Decisions the database counted together (projections/whatif.py): their what-if key, their
contact day's class, their assessment days (``assessment_classes``), how many, and one
member's encoded inputs. Every member has the same fine key (``fine_key``)."""

Members = Callable[[set[str]], Iterable[Row]]
"""The decisions in scope with one of these what-if keys: the members of the classes whose
outcome changed, listed contact by contact."""

Progress = Callable[[int, int], None]
"""(decisions done, decisions in all)."""

_Judged = tuple[Outcome, Outcome]
"""A class's outcome before and after."""

_Regions = tuple[str, str]
"""A key's home and care region."""


def decision_class(f: ContactFacts, changes: Sequence[date], catalogue: Catalogue) -> Hashable:
    """What ``decide``'s outcome can depend on (see the module's docstring); ``changes``: the
    sorted days something dated changes on. Of the assessments only whether one is adequate
    (R9 + C4, policy-free: ``assessment_problem``), of the referrals only whether one covers
    the contact (R8) and whether one is a planned inpatient referral before it (R21)."""
    start = f.started_at
    if start is None:
        return (f.home_county, f.care_region, f.status, None)
    adequate = any(assessment_problem(a, f, catalogue) is None for a in f.assessments)
    live = [
        r for r in f.referrals
        if r.status != "rejected" and r.target_region == f.care_region and r.issued_at <= start
    ]  # fmt: skip
    referred = any(r.specialty is None or f.specialty is None or r.specialty == f.specialty
                   for r in live)  # fmt: skip
    inpatient = any(r.target_care_level is CareLevel.inpatient for r in live)
    return (
        f.home_county, f.care_region, f.care_level, f.status, f.mode, f.profession, f.content,
        f.specialty, f.age_band, bisect_right(changes, swedish_date(start)), adequate, referred,
        inpatient,
    )  # fmt: skip


def fine_key(key: str, day: str, assessment_days: str, day_class: Callable[[str], int]) -> Hashable:
    """A row's stored key with its days classed (``day_class``: which stretch between dated
    changes an ISO day falls in): rows with one fine key fall in one decision class
    (tests/unit/test_what_if_replay.py), so the facts of one of them are built and decided."""
    classes = tuple(day_class(d) for d in assessment_days.split(",")) if assessment_days else ()
    return key, day_class(day), classes


def assessment_classes(text: str, day_class: Callable[[str], int]) -> tuple[int, ...]:
    """A group's assessment days, classed: the database classes the day of a contact's only
    assessment (``text`` is then the class) and hands several over as they are stored (ISO
    days, comma-separated), classed here; ``""``: no assessment."""
    if not text:
        return ()
    if "," in text:
        return tuple(day_class(d) for d in text.split(","))
    return (int(text),)


class WhatIf:
    """Re-decides the distinct decision classes in scope under two policies: counted by
    groups, and the changed classes' members listed one by one."""

    def __init__(
        self,
        policies: tuple[RulebookPolicy, RulebookPolicy],
        scope: Scope,
        reference: tuple[Catalogue, Regions],
    ) -> None:
        """``policies``: baseline and alternative; ``reference``: what both decide with."""
        (self.baseline, self.alternative), self.scope = policies, scope
        self.catalogue, self.regions = reference
        self._judged: dict[Hashable, _Judged | None] = {}
        effective = {p.ds_2023_27_effective for p in policies if p.ds_2023_27_enabled}
        self.changes: list[date] = sorted(set(self.catalogue.changes()) | effective)
        """The days something dated changes on: a day's class is how many fall on or before it."""
        self._fine: dict[Hashable, _Judged | None] = {}
        self._regions: dict[str, _Regions] = {}
        self._day_classes: dict[str, int] = {}

    def day_class(self, day: str) -> int:
        """Which stretch between dated changes ``day`` (ISO) falls in."""
        known = self._day_classes.get(day)
        if known is None:
            known = self._day_classes[day] = bisect_right(self.changes, date.fromisoformat(day))
        return known

    def run(
        self,
        groups: Iterable[Group],
        members: Members,
        total: int = 0,
        progress: Progress | None = None,
    ) -> Simulation:
        sim = Simulation(self.baseline.label, self.alternative.label, self.scope)
        changed: dict[Hashable, _Judged] = {}
        done = reported = 0
        for key, day_class, days, count, inputs in groups:
            fine = (key, day_class, assessment_classes(days, self.day_class))
            judged = self._count(sim, fine, count, inputs)
            if judged is not None and _differ(*judged):
                changed[fine] = judged
            done += count
            if progress is not None and done - reported >= 50_000:
                progress(done, max(total, done))
                reported = done
        if changed:
            self._list_changes(sim, changed, members({fine[0] for fine in changed}))  # type: ignore[index]
        sim.regions = dict(sorted(sim.regions.items()))
        sim.changes.sort(key=lambda c: (c.episode_id, c.contact_id))
        if progress is not None:
            progress(total, total)
        return sim

    @property
    def classes(self) -> int:
        """Distinct decision classes met (each decided once per policy)."""
        return len(self._judged)

    def _regions_of(self, key: str) -> _Regions:
        regions = self._regions.get(key)
        if regions is None:
            body = orjson.loads(key)
            regions = self._regions[key] = (body[0], body[1])
        return regions

    def _count(self, sim: Simulation, fine: Hashable, count: int, inputs: str) -> _Judged | None:
        """Adds a group to its home region's totals; its outcomes, decided from one member's
        inputs once per decision class (None: out of the scope)."""
        home, _ = self._regions_of(fine[0])  # type: ignore[index]
        if self.scope.home_regions and home not in self.scope.home_regions:
            return None
        if fine not in self._fine:
            f = build(parse(inputs), "", "")  # ids shape the trace only, not the outcome
            decided = decision_class(f, self.changes, self.catalogue)
            if decided not in self._judged:
                self._judged[decided] = self._judge(f)
            self._fine[fine] = self._judged[decided]
        judged = self._fine[fine]
        if judged is None:
            return None
        before, after = judged
        totals = sim.regions.setdefault(home, RegionTotals(home))
        totals.contacts += count
        totals.paid += before.amount * count
        totals.would_pay += after.amount * count
        if _differ(before, after):
            totals.changed += count
        return judged

    def _list_changes(
        self, sim: Simulation, changed: dict[Hashable, _Judged], rows: Iterable[Row]
    ) -> None:
        for episode_id, contact_id, key, day, days in rows:
            judged = changed.get(fine_key(key, day, days, self.day_class))
            if judged is not None:
                home, care = self._regions_of(key)
                when = date.fromisoformat(day)
                sim.changes.append(ContactChange(episode_id, contact_id, home, care, when, *judged))

    def _judge(self, f: ContactFacts) -> _Judged | None:
        before = decide(f, self.baseline, self.catalogue, self.regions)
        if not self.scope.covers(before):
            return None
        if not _rulebooks_differ(f, self.baseline, self.alternative):
            return outcome(before), outcome(before)
        after = decide(f, self.alternative, self.catalogue, self.regions)
        return outcome(before), outcome(after)


def _rulebooks_differ(f: ContactFacts, one: RulebookPolicy, other: RulebookPolicy) -> bool:
    """Whether two policies pick different rulebooks for this contact. A policy reaches
    ``decide`` only through the rulebook it picks for the contact's start (C1) and its label
    (which only the trace and ``rulebook_policy`` carry), so where they pick the same one the
    outcome is the same, and the second decision is not made: most of a year falls before or
    after any date switch the two policies disagree on (tests/unit/test_what_if_replay.py)."""
    start = f.started_at
    return start is not None and one.for_contact(start) is not other.for_contact(start)


def _differ(before: Outcome, after: Outcome) -> bool:
    return (before.status, before.amount, before.paying_region) != (
        after.status, after.amount, after.paying_region
    )  # fmt: skip
