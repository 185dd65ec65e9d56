"""Folding per page, not per fact: a page's facts grouped by episode, and decisions reused.

A replay hands every projection a whole page (``Projection.apply_page``). Grouping it by
episode lets a projection fetch an episode's fold once, fold the group, and decide each
changed contact once instead of after every fact. Facts of different episodes never read
each other's state, so folding them episode by episode instead of interleaved changes no
answer; facts that read everything before them (a month's closing reads the decisions) cut
the page into runs (``runs``), each folded whole before the barrier is applied.

``Decisions`` reuses liability decisions: ``decide`` is a pure function of the contact's
facts, the rulebook policy and the reference data (the decision cache relies on the same,
and tests/unit/test_decision_cache.py holds reused answers equal to fresh ones), and
``ContactFacts`` is an immutable value, so equal facts under the same policy and data get
the very same decision. The liability and indicators projections decide the same contacts;
sharing one memo per (policy, catalogue, regions) in the process decides each state once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from routing.liability.decision import LiabilityDecision
from routing.liability.engine import decide
from routing.liability.facts import ContactFacts
from routing.liability.rulebooks import RulebookPolicy
from routing.messaging.envelope import CloudEvent
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions

MEMO_SIZE = 200_000
"""Decisions remembered at most (then forgotten all at once: a replay moves on in time, so
the states it decides again are recent ones)."""


def by_episode(events: Sequence[CloudEvent]) -> dict[str, list[CloudEvent]]:
    """The events per subject, each list in store order; subjects in order of first fact."""
    groups: dict[str, list[CloudEvent]] = {}
    for event in events:
        subject = str(event.subject)
        group = groups.get(subject)
        if group is None:
            groups[subject] = [event]
        else:
            group.append(event)
    return groups


def runs(events: Sequence[CloudEvent], barrier: str) -> Iterator[list[CloudEvent]]:
    """The page cut at every event of type ``barrier``, which comes alone, in order."""
    run: list[CloudEvent] = []
    for event in events:
        if event.event_type == barrier:
            if run:
                yield run
                run = []
            yield [event]
        else:
            run.append(event)
    if run:
        yield run


class Decisions:
    """``decide`` under one policy and reference data, each distinct contact state once."""

    def __init__(self, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions) -> None:
        self.policy, self.catalogue, self.regions = policy, catalogue, regions
        self._memo: dict[ContactFacts, LiabilityDecision] = {}
        self.hits = self.misses = 0

    def decide(self, facts: ContactFacts) -> LiabilityDecision:
        decision = self._memo.get(facts)
        if decision is not None:
            self.hits += 1
            return decision
        self.misses += 1
        decision = decide(facts, self.policy, self.catalogue, self.regions)
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[facts] = decision
        return decision


_SHARED: dict[tuple[RulebookPolicy, int, int], Decisions] = {}


def shared_decisions(policy: RulebookPolicy, catalogue: Catalogue, regions: Regions) -> Decisions:
    """The process's memo for this policy and these reference data (by identity: the loaded
    reference data are cached objects, and a memo keeps them alive, so ids are not reused)."""
    key = (policy, id(catalogue), id(regions))
    found = _SHARED.get(key)
    if found is None or found.catalogue is not catalogue or found.regions is not regions:
        found = _SHARED[key] = Decisions(policy, catalogue, regions)
    return found
