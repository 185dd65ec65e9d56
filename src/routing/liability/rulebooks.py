"""Rulebooks: the dated sets of rules a contact is judged by (C1).

``riksavtal`` is the inter-regional agreement in force (R8, R10-R13). ``ds-2023-27`` is the
proposal of Ds 2023:27 on top of it (R9, R14): not confirmed enacted, so its effective date is
a setting and it can be switched off. The rulebook is chosen by the contact's start time in
Swedish time, and every decision records which one it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from routing.kernel.calendar import DS_2023_27_PROPOSED_IN_FORCE, swedish_date


class RulebookId(StrEnum):
    riksavtal = "riksavtal"
    ds_2023_27 = "ds-2023-27"


@dataclass(frozen=True)
class RulebookPolicy:
    """Which rulebooks exist and from when: the switch and date the settings control."""

    ds_2023_27_enabled: bool = True
    ds_2023_27_effective: date = DS_2023_27_PROPOSED_IN_FORCE

    def for_contact(self, started_at: datetime) -> RulebookId:
        if self.ds_2023_27_enabled and swedish_date(started_at) >= self.ds_2023_27_effective:
            return RulebookId.ds_2023_27
        return RulebookId.riksavtal

    @property
    def label(self) -> str:
        if not self.ds_2023_27_enabled:
            return "riksavtal only"
        return f"ds-2023-27 from {self.ds_2023_27_effective.isoformat()}"
