"""The liability projection in the broker-less harness (tests/projection_harness.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from projections.liability import Liability
from routing.config import Settings
from routing.liability.billing import MonthClosed
from routing.liability.months import close_month
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions
from tests.projection_harness import ProjectionHarness


class LiabilityHarness(ProjectionHarness):
    def __init__(self, settings: Settings, tmp: Any) -> None:
        super().__init__(
            settings,
            tmp,
            lambda s: Liability(s.rulebook_policy(), load_catalogue(), load_regions()),
        )

    def close(self, home: str, care: str, month: str) -> None:
        close_month(
            self.service,
            MonthClosed(
                event_id=uuid.uuid4(), home_region=home, care_region=care, month=month,
                occurred_at=datetime.now(UTC), source="finance-test",
            )
        )  # fmt: skip
        self.pump()
