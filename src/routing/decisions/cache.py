"""Answers already given today to the same question, reused.

A routing decision is a pure function of the question's facts, the rulebook policy and the
reference data (``advise``), and it reads the contact's start only through its Swedish date
(rulebook, price and fee in force) unless an assessment is part of the question (its time
against the start matters then). So two questions that differ only in their ids and in the
time of day of their start get the same answer but for those ids. Front-ends ask the same
few hundred questions all day (home region, care region, mode, level, digital or not); the
audit record of every decision is still written, each with its own ids.

The answer is kept as a template (``template.py``): JSON made for placeholder ids, which a
hit fills with the real ones. tests/unit/test_decision_cache.py holds every answer equal,
byte for byte, to a fresh ``advise``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from routing.decisions.advise import PREVIEW_MINUTES, advise
from routing.decisions.question import RoutingQuestion
from routing.decisions.record import answer_json
from routing.decisions.template import EPISODE, REQUEST, AnswerTemplate
from routing.kernel.calendar import swedish_date
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions

_IDS_AND_START = {"request_id", "episode_id", "planned_start"}


@dataclass(frozen=True)
class Given:
    body: bytes
    """The answer's JSON, as ``answer_json(advise(q, ...))`` would write it."""
    template: AnswerTemplate | None
    """What it was filled from; None when the cache is off (the answer is stored whole)."""


class DecisionCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = self.misses = 0
        self._templates: dict[tuple[object, ...], AnswerTemplate] = {}

    def answer(
        self, q: RoutingQuestion, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions
    ) -> bytes:
        """The answer to ``q`` as JSON, as ``answer_json(advise(q, ...))`` would write it."""
        return self.given(q, policy, catalogue, regions).body

    def given(
        self, q: RoutingQuestion, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions
    ) -> Given:
        """The answer to ``q`` and the template it came from."""
        if not self.size:
            return Given(answer_json(advise(q, policy, catalogue, regions)), None)
        key = self._key(q, policy, catalogue)
        template = self._templates.get(key)
        if template is None:
            self.misses += 1
            stand_in = q.model_copy(
                update={"request_id": REQUEST, "episode_id": EPISODE if q.episode_id else None}
            )
            template = AnswerTemplate.of(answer_json(advise(stand_in, policy, catalogue, regions)))
            while len(self._templates) >= self.size:
                self._templates.pop(next(iter(self._templates)))  # oldest first
            self._templates[key] = template
        else:
            self.hits += 1
        return Given(template.fill(q.request_id, q.episode_id), template)

    @staticmethod
    def _key(
        q: RoutingQuestion, policy: RulebookPolicy, catalogue: Catalogue
    ) -> tuple[object, ...]:
        facts = RoutingQuestion.__pydantic_serializer__.to_json(q, exclude=_IDS_AND_START)
        start = q.planned_start
        when: object = (
            start.isoformat()  # the assessment's time against the start is judged
            if q.assessment is not None
            else (swedish_date(start), swedish_date(start + timedelta(minutes=PREVIEW_MINUTES)))
        )
        # The catalogue's version is a digest of its content: a reload that changes it misses.
        return (facts, when, q.episode_id is None, policy, catalogue.version)
