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

``Clocks`` does the same for the care-guarantee clocks: the care-guarantee and indicators
projections both need an episode's clocks after every page that touched it (the indicators
read the three-day assessment clocks, ``assessments_of``); ``shared_clocks`` computes them
once per episode and page for both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from routing.episodes.events import EpisodeEvent
from routing.guarantee import Clock, GuaranteePolicy, episode_clocks
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
CLOCKS_MEMO_SIZE = 20_000
"""Episodes whose clocks are remembered at most: an entry serves within its page (a few
thousand episodes), a list of clocks weighs kilobytes."""


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


class Clocks:
    """``episode_clocks`` of an episode's clock facts, each fact list computed once.

    Keyed by the list's last fact object and its length: a fold's list only grows, so within
    one replay the same last fact (the very object a page decoded once and handed to both
    projections) at the same length is the same list. The memo holds the last fact, so its
    id is not reused while the entry lives. A fold read back from a table has fresh objects:
    a miss, computed again, never a wrong hit."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, int], tuple[EpisodeEvent, GuaranteePolicy, list[Clock]]] = {}
        self.hits = self.misses = 0

    def of(self, facts: Sequence[EpisodeEvent], policy: GuaranteePolicy | None) -> list[Clock]:
        """The clocks of ``facts`` (the episode's clock facts, in recording order) under
        ``policy``; None: any policy will do, because the caller reads only the 0- and 3-day
        clocks, which no policy changes (only the 90-day clocks read it)."""
        if not facts:
            return episode_clocks(facts, policy)
        key = (id(facts[-1]), len(facts))
        found = self._memo.get(key)
        if found is not None and found[0] is facts[-1] and policy in (None, found[1]):
            self.hits += 1
            return found[2]
        self.misses += 1
        wanted = policy or GuaranteePolicy()
        clocks = episode_clocks(facts, wanted)
        if len(self._memo) >= CLOCKS_MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = (facts[-1], wanted, clocks)
        return clocks


_CLOCKS = Clocks()


def shared_clocks() -> Clocks:
    """The process's clocks memo, shared by the care-guarantee and indicators projections."""
    return _CLOCKS
