"""The one place the indicators read the care-guarantee clocks (R16 step 2, a medical
assessment within three days).

Why one function: the clocks are ``routing.guarantee``'s, and they change with it. The
indicators need only, per contact request, the fate of the three-day clock it started and
its deadline; everything else about the guarantee stays behind this function.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from routing.episodes.events import EpisodeEvent
from routing.guarantee import Clock, ClockKind, episode_clocks


@dataclass(frozen=True)
class AssessmentClock:
    status: str
    """met | breached | open | excluded, as the guarantee decided."""
    deadline: date
    reason: str | None
    """Why an excluded clock is out of the guarantee (e.g. other_region_choice)."""


def three_day_assessments(facts: Iterable[EpisodeEvent]) -> dict[str, AssessmentClock]:
    """Contact id → the three-day assessment clock its request started (requests after an
    assessment of the episode start none)."""
    return assessments_of(episode_clocks(facts))


def assessments_of(clocks: Iterable[Clock]) -> dict[str, AssessmentClock]:
    """``three_day_assessments`` from the episode's clocks already computed (under the default
    policy: the proposals change only the 90-day clocks), so a replay that computes them for
    the care-guarantee read model does not compute them again for the indicators."""
    out: dict[str, AssessmentClock] = {}
    for clock in clocks:
        if clock.kind is ClockKind.assessment and clock.subject_id.startswith("contact:"):
            reason = clock.reason.value if clock.reason is not None else None
            out[clock.subject_id.removeprefix("contact:")] = AssessmentClock(
                clock.status.value, clock.deadline, reason
            )
    return out
