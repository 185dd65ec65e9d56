"""Shares of a total, rounded so that they add up to exactly 1.

Region reports put the shares of the four classes side by side; naive rounding can make them
add up to 0.9999 or 1.0001, which readers take for an error. Largest-remainder rounding to
``places`` decimals keeps the sum exact (as decimals) and each share within one unit of the
last place of the true value. Ties go to the key listed first, so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping


def shares(counts: Mapping[str, int], places: int = 4) -> dict[str, float]:
    """``counts`` by key -> share by key (same order). All zeros when the total is 0."""
    if any(n < 0 for n in counts.values()):
        raise ValueError("counts cannot be negative")
    total = sum(counts.values())
    scale = 10**places
    if total == 0:
        return {k: 0.0 for k in counts}
    units = {k: n * scale // total for k, n in counts.items()}
    remainders = {k: n * scale % total for k, n in counts.items()}
    missing = scale - sum(units.values())
    order = sorted(counts, key=lambda k: -remainders[k])  # stable: first key wins a tie
    for k in order[:missing]:
        units[k] += 1
    return {k: round(u / scale, places) for k, u in units.items()}
