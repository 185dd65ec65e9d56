"""A store, its relay's encoding and the care-guarantee projection, wired without a broker.

Same pattern as ``tests/liability_support.py``: facts go into the real event store; ``pump``
encodes every new one as the relay does and feeds it to the projection worker as consecutive
offsets of one partition, so the projection sees exactly what it would see on Kafka.
"""

from __future__ import annotations

from typing import Any

from projections.guarantee import CareGuarantee
from routing.config import Settings
from tests.projection_harness import ProjectionHarness


class GuaranteeHarness(ProjectionHarness):
    def __init__(self, settings: Settings, tmp: Any) -> None:
        """The projection as ``routing`` builds it from ``settings`` (its rulebook switch)."""
        super().__init__(settings, tmp, lambda s: CareGuarantee(s.guarantee_policy()))

    def record(self, bodies: list[dict[str, Any]], page: int | None = 500) -> None:
        super().record(bodies, page)

    def pump(self, page: int | None = 500) -> None:
        super().pump(page)

    def clocks(self, episode: str | None = None) -> dict[tuple[str, str, str], tuple[Any, ...]]:
        """(episode, clock, subject) -> (status, days, reason, home_region, month)."""
        rows = self.query(
            "SELECT episode_id, clock, subject_id, status, days, reason, home_region, month "
            "FROM care_guarantee_clocks" + (" WHERE episode_id = :episode" if episode else ""),
            {"episode": episode},
        )
        return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}
