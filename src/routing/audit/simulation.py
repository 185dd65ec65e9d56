"""Policy simulation: what liability would have been under another rulebook policy.

For example Ds 2023:27 applied to a year of history, or from another effective date, or
switched off. The facts are folded with the same ``EpisodeFacts`` and judged by the same
``decide`` as the live liability projection, once under the policy in force (what the home
region paid) and once under the alternative (what it would have paid); live read models are
neither read nor written.

Pure: it consumes an iterator of stored facts (any order of episodes, each episode's facts
in recording order) and holds one fold per episode, not the facts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from routing.episodes.events import EpisodeEvent
from routing.kernel.calendar import swedish_date
from routing.liability.decision import LiabilityDecision, LiabilityStatus
from routing.liability.engine import decide
from routing.liability.facts import EpisodeFacts
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions


@dataclass(frozen=True)
class Scope:
    """Which contacts: home regions (empty = all) and contact dates [start, end]; with
    ``end`` before ``start`` the period is empty and covers no contact (an empty answer, not
    an error: the API's schema cannot relate two fields, so every pair of days is a question)."""

    home_regions: frozenset[str]
    start: date
    end: date

    def covers(self, d: LiabilityDecision) -> bool:
        return (
            (not self.home_regions or d.home_region in self.home_regions)
            and d.contact_date is not None
            and self.start <= d.contact_date <= self.end
        )


@dataclass(frozen=True)
class Outcome:
    status: LiabilityStatus
    rulebook: str
    amount: int
    """SEK the home region pays (invoiced amount when it is the paying region, else 0)."""
    paying_region: str | None


@dataclass(frozen=True)
class ContactChange:
    episode_id: str
    contact_id: str
    home_region: str
    care_region: str
    contact_date: date | None
    before: Outcome
    after: Outcome


@dataclass
class RegionTotals:
    home_region: str
    contacts: int = 0
    paid: int = 0
    would_pay: int = 0
    changed: int = 0

    @property
    def difference(self) -> int:
        return self.would_pay - self.paid


@dataclass
class Simulation:
    baseline: str
    alternative: str
    scope: Scope
    regions: dict[str, RegionTotals] = field(default_factory=dict)
    changes: list[ContactChange] = field(default_factory=list)
    facts: int = 0


def outcome(d: LiabilityDecision) -> Outcome:
    pays = d.status is LiabilityStatus.home_region_liable and d.paying_region in (
        None,
        d.home_region,
    )
    return Outcome(d.status, d.rulebook, d.invoiced_amount if pays else 0, d.paying_region)


class Simulator:
    """Folds facts as they stream past, then decides each contact in scope twice."""

    def __init__(
        self,
        baseline: RulebookPolicy,
        alternative: RulebookPolicy,
        scope: Scope,
        catalogue: Catalogue,
        regions: Regions,
    ) -> None:
        self.baseline, self.alternative, self.scope = baseline, alternative, scope
        self.catalogue, self.regions = catalogue, regions
        self.folds: dict[str, EpisodeFacts] = {}
        self.facts = 0

    def add(self, episode_id: str, event: EpisodeEvent, recorded_at: datetime) -> None:
        fold = self.folds.get(episode_id)
        if fold is None:
            fold = self.folds[episode_id] = EpisodeFacts(episode_id)
        fold.apply(event, recorded_at)
        self.facts += 1

    def add_all(self, facts: Iterable[tuple[str, EpisodeEvent, datetime]]) -> None:
        for episode_id, event, recorded_at in facts:
            self.add(episode_id, event, recorded_at)

    def result(self) -> Simulation:
        sim = Simulation(self.baseline.label, self.alternative.label, self.scope, facts=self.facts)
        wanted = self.scope.home_regions
        for episode_id in sorted(self.folds):
            fold = self.folds[episode_id]
            for contact_id in sorted(fold.contacts):
                c = fold.contacts[contact_id]
                if c.status != "completed" or (wanted and c.home_county not in wanted):
                    continue
                if c.started_at is not None and not (
                    self.scope.start <= swedish_date(c.started_at) <= self.scope.end
                ):
                    continue
                before = decide(c, self.baseline, self.catalogue, self.regions)
                if not self.scope.covers(before):
                    continue
                after = decide(c, self.alternative, self.catalogue, self.regions)
                self._count(sim, before, after)
        sim.regions = dict(sorted(sim.regions.items()))
        return sim

    @staticmethod
    def _count(sim: Simulation, before: LiabilityDecision, after: LiabilityDecision) -> None:
        totals = sim.regions.setdefault(before.home_region, RegionTotals(before.home_region))
        a, b = outcome(before), outcome(after)
        totals.contacts += 1
        totals.paid += a.amount
        totals.would_pay += b.amount
        if (a.status, a.amount, a.paying_region) != (b.status, b.amount, b.paying_region):
            totals.changed += 1
            sim.changes.append(
                ContactChange(
                    before.episode_id, before.contact_id, before.home_region,
                    before.care_region, before.contact_date, a, b,
                )
            )  # fmt: skip
