"""Answers already given today to the same question, reused.

A routing decision is a pure function of the question's facts, the rulebook policy and the
reference data (``advise``), and it reads the contact's start only through its Swedish date
(rulebook, price and fee in force) unless an assessment is part of the question (its time
against the start matters then). So two questions that differ only in their ids and in the
time of day of their start get the same answer but for those ids. Front-ends ask the same
few hundred questions all day (home region, care region, mode, level, digital or not); the
audit record of every decision is still written, each with its own ids.

The answer is kept as JSON bytes made for placeholder ids; a hit substitutes the real ones
(36-character UUID strings for 36-character UUID strings: nothing else in an answer can
equal a placeholder). tests/unit/test_decision_cache.py holds every answer equal, byte for
byte, to a fresh ``advise``.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from routing.decisions.advise import PREVIEW_MINUTES, advise
from routing.decisions.question import RoutingQuestion
from routing.decisions.record import answer_json
from routing.liability.rulebooks import RulebookPolicy, swedish_date
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions

_REQUEST = UUID("00000000-0000-4000-8000-00000000a001")
_EPISODE = UUID("00000000-0000-4000-8000-00000000e001")
_IDS_AND_START = {"request_id", "episode_id", "planned_start"}


class DecisionCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = self.misses = 0
        self._answers: dict[tuple[object, ...], bytes] = {}

    def answer(
        self, q: RoutingQuestion, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions
    ) -> bytes:
        """The answer to ``q`` as JSON, as ``answer_json(advise(q, ...))`` would write it."""
        if not self.size:
            return answer_json(advise(q, policy, catalogue, regions))
        key = self._key(q, policy, catalogue)
        template = self._answers.get(key)
        if template is None:
            self.misses += 1
            stand_in = q.model_copy(
                update={"request_id": _REQUEST, "episode_id": _EPISODE if q.episode_id else None}
            )
            template = answer_json(advise(stand_in, policy, catalogue, regions))
            while len(self._answers) >= self.size:
                self._answers.pop(next(iter(self._answers)))  # oldest first
            self._answers[key] = template
        else:
            self.hits += 1
        body = template.replace(str(_REQUEST).encode(), str(q.request_id).encode())
        if q.episode_id is not None:
            body = body.replace(str(_EPISODE).encode(), str(q.episode_id).encode())
        return body

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
