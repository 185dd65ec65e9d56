"""The care guarantee (vårdgaranti 0-3-90-90, docs/care-guarantee.md) as pure clocks over an
episode's facts: ``days`` counts Swedish calendar days, ``facts`` folds an episode, ``clocks``
(0 and 3 days) and ``ninety`` (90 and 90) decide, ``reference`` holds the dated limits."""

from routing.guarantee.clocks import episode_clocks
from routing.guarantee.days import LIMITS, ClockKind, ClockStatus, Exclusion
from routing.guarantee.model import Clock, GuaranteePolicy

__all__ = [
    "LIMITS",
    "Clock",
    "ClockKind",
    "ClockStatus",
    "Exclusion",
    "GuaranteePolicy",
    "episode_clocks",
]
