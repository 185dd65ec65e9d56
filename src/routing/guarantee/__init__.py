"""The care guarantee (vårdgaranti 0-3-90-90, domain.md R16) as pure clocks over an episode's
facts: ``days`` counts Swedish calendar days, ``facts`` folds an episode, ``clocks`` decides."""

from routing.guarantee.clocks import Clock, episode_clocks
from routing.guarantee.days import LIMITS, ClockKind, ClockStatus, Exclusion

__all__ = ["LIMITS", "Clock", "ClockKind", "ClockStatus", "Exclusion", "episode_clocks"]
