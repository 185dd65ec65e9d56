"""Physical-necessity classification of physical visits (domain.md C6, R4-R6).

Pure domain code: ``NecessityFacts`` folds an episode's events, ``classify`` judges one held
visit, ``shares`` turns class counts into shares that add up to exactly 1.
"""

from routing.necessity.classify import (
    JudgementRef,
    NecessityClassification,
    VisitClass,
    classify,
)
from routing.necessity.facts import Judgement, NecessityFacts, Offer, VisitFacts
from routing.necessity.shares import shares

__all__ = [
    "Judgement",
    "JudgementRef",
    "NecessityClassification",
    "NecessityFacts",
    "Offer",
    "VisitClass",
    "VisitFacts",
    "classify",
    "shares",
]
