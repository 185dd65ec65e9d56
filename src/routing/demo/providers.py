"""Who answers a demo contact, and how often: the realistic mixes behind the demo data.

Why a module of its own: the shares (seed 004's profession mix, the region's digital door,
urgencies, start hours) and the illustrative provider catalogue are the *facts* the demo
reproduces; the episode scenarios only consume them. Keeping them together means a new seed
or a new provider changes this file and nothing else.

``Table`` is the weighted-choice helper everything draws through; it consumes exactly one
``rng.random()`` per pick, which the byte-identical output of a seed depends on.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any


@dataclass(frozen=True)
class DigitalProvider:
    """A national digital provider under contract with one region (its care region)."""

    name: str
    provider_id: str
    care_unit_id: str
    care_region: str
    source: str
    modes: tuple[str, ...]
    professions: frozenset[str]
    weight: float


_CORE = frozenset({"doctor", "nurse", "psychologist", "psychotherapist", "counsellor"})
PROVIDERS: tuple[DigitalProvider, ...] = (
    DigitalProvider("kry-like", "SE5569990001-KRY", "SE5569990001-VC01", "04", "kry-chat",
                    ("chat", "chat", "video"), _CORE | {"physiotherapist"}, 0.4),
    DigitalProvider("doktorse-like", "SE5569990002-DSE", "SE5569990002-VC01", "04",
                    "doktorse-app", ("chat", "chat", "phone"), _CORE | {"assistant_nurse"}, 0.3),
    DigitalProvider("mindoktor-like", "SE5569990003-MD", "SE5569990003-VC01", "06",
                    "mindoktor-app", ("async_message", "chat", "video"),
                    _CORE | {"physiotherapist", "assistant_nurse"}, 0.3),
    DigitalProvider("jointacademy-like", "SE5569990004-JA", "SE5569990004-RH01", "04",
                    "jointacademy-app", ("async_message", "video"),
                    frozenset({"physiotherapist"}), 1.6),
)  # fmt: skip

PROFESSION_MIX_004 = {
    "doctor": 67,
    "physiotherapist": 8,
    "psychologist": 5,
    "nurse": 19,
    "other": 2,
}
"""Seed 004, out-of-region digital contacts 2020 (the published shares sum to 101 %)."""
_SPLIT = {"psychologist": {"psychologist": 85, "psychotherapist": 15},
          "other": {"counsellor": 50, "assistant_nurse": 50}}  # fmt: skip
_REGION_DIGITAL = {"nurse": 45, "doctor": 38, "physiotherapist": 7, "psychologist": 5,
                   "counsellor": 3, "other_licensed": 2}  # fmt: skip
_AT_VISIT = {"doctor": 60, "nurse": 25, "physiotherapist": 10, "psychologist": 5}
_URGENCY = {"same_day": 45, "within_days": 35, "planned": 10, "self_care": 7, "emergency": 3}
_HOURS = dict(zip(range(7, 22), (3, 8, 9, 8, 7, 6, 6, 6, 6, 6, 6, 7, 8, 7, 4), strict=True))


class Table:
    """Weighted choice on precomputed cumulative weights (random.choices re-sums each call)."""

    def __init__(self, weights: Mapping[Any, float]) -> None:
        self.items = list(weights)
        self.cum = list(accumulate(weights.values()))

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


PROFESSIONS_004 = Table(PROFESSION_MIX_004)
"""Profession of an out-of-region digital contact (seed 004)."""
PROFESSION_SPLITS = {k: Table(v) for k, v in _SPLIT.items()}
"""Refines seed 004's grouped professions ('psychologist', 'other') into vocabulary ones."""
REGION_DIGITAL_PROFESSIONS = Table(_REGION_DIGITAL)
"""Profession at the own region's digital door (nurse-first)."""
VISIT_PROFESSIONS = Table(_AT_VISIT)
"""Profession at a physical visit, or at a distance contact the region booked."""
URGENCIES = Table(_URGENCY)
START_HOURS = Table(_HOURS)
"""Hour of day an episode starts."""
