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

InputsOf = Callable[[str, str], str]
"""The encoded inputs of (episode id, contact id): read only for a decision whose fine key
is new, so the rows streamed stay small."""

Progress = Callable[[int, int], None]
"""(rows done, rows in all)."""

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


class WhatIf:
    """Re-decides the distinct decision classes of the rows in scope under two policies."""

    def __init__(
        self,
        policies: tuple[RulebookPolicy, RulebookPolicy],
        scope: Scope,
        reference: tuple[Catalogue, Regions],
        inputs_of: InputsOf,
    ) -> None:
        """``policies``: baseline and alternative; ``reference``: what both decide with."""
        (self.baseline, self.alternative), self.scope = policies, scope
        self.catalogue, self.regions = reference
        self.inputs_of = inputs_of
        self._judged: dict[Hashable, _Judged | None] = {}
        effective = {p.ds_2023_27_effective for p in policies if p.ds_2023_27_enabled}
        self._changes = sorted(set(self.catalogue.changes()) | effective)
        self._fine: dict[Hashable, _Judged | None] = {}
        self._regions: dict[str, _Regions] = {}
        self._day_classes: dict[str, int] = {}

    def _day_class(self, day: str) -> int:
        """Which stretch between dated changes ``day`` (ISO) falls in."""
        known = self._day_classes.get(day)
        if known is None:
            known = self._day_classes[day] = bisect_right(self._changes, date.fromisoformat(day))
        return known

    def run(
        self, rows: Iterable[Row], total: int = 0, progress: Progress | None = None
    ) -> Simulation:
        sim = Simulation(self.baseline.label, self.alternative.label, self.scope)
        for done, row in enumerate(rows, 1):
            self._add(sim, *row)
            if progress is not None and done % 50_000 == 0:
                progress(done, max(total, done))
        sim.regions = dict(sorted(sim.regions.items()))
        sim.changes.sort(key=lambda c: (c.episode_id, c.contact_id))
        if progress is not None:
            progress(total, total)
        return sim

    @property
    def classes(self) -> int:
        """Distinct decision classes met (each decided once per policy)."""
        return len(self._judged)

    def _add(
        self, sim: Simulation, episode_id: str, contact_id: str, key: str, day: str, days: str
    ) -> None:
        """Counts one decision: its outcomes found by its fine key, else decided from its
        inputs, once per decision class."""
        regions = self._regions.get(key)
        if regions is None:
            body = orjson.loads(key)
            regions = self._regions[key] = (body[0], body[1])
        home, care = regions
        if self.scope.home_regions and home not in self.scope.home_regions:
            return
        fine = fine_key(key, day, days, self._day_class)
        if fine not in self._fine:
            f = build(parse(self.inputs_of(episode_id, contact_id)), episode_id, contact_id)
            decided = decision_class(f, self._changes, self.catalogue)
            if decided not in self._judged:
                self._judged[decided] = self._judge(f)
            self._fine[fine] = self._judged[decided]
        judged = self._fine[fine]
        if judged is None:
            return
        before, after = judged
        totals = sim.regions.setdefault(home, RegionTotals(home))
        totals.contacts += 1
        totals.paid += before.amount
        totals.would_pay += after.amount
        if (before.status, before.amount, before.paying_region) != (
            after.status, after.amount, after.paying_region
        ):  # fmt: skip
            totals.changed += 1
            change = ContactChange(
                episode_id, contact_id, home, care, date.fromisoformat(day), before, after
            )
            sim.changes.append(change)

    def _judge(self, f: ContactFacts) -> _Judged | None:
        before = decide(f, self.baseline, self.catalogue, self.regions)
        if not self.scope.covers(before):
            return None
        after = decide(f, self.alternative, self.catalogue, self.regions)
        return outcome(before), outcome(after)
