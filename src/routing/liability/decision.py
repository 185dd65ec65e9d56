"""A liability decision and its trace: what was decided, by which rule, on which source."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from routing.kernel.rules import TraceStep

__all__ = ["LiabilityDecision", "LiabilityStatus", "TraceStep"]


class LiabilityStatus(StrEnum):
    """C3: liability is not a boolean."""

    home_region_liable = "home_region_liable"
    home_region_not_obliged = "home_region_not_obliged"  # the care region bears the cost
    in_region = "in_region"  # no inter-regional invoice
    not_billable = "not_billable"
    pending = "pending"  # facts missing


class LiabilityDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    episode_id: str
    contact_id: str
    status: LiabilityStatus
    rulebook: str
    rulebook_policy: str
    reference_version: str
    contact_date: date | None = None
    home_region: str
    home_municipality: str | None = None
    care_region: str
    care_unit_id: str | None = None
    provider_id: str | None = None
    paying_region: str | None = None
    receiving_region: str | None = None
    invoiced_amount: int = 0
    """SEK the care region invoices the home region."""
    provider_reimbursement: int | None = None
    """SEK the care region pays its provider, when known."""
    patient_fee: int | None = None
    fee_schedule_region: str | None = None
    fee_schedule_is_default: bool = False
    riksavtal_chapter: str | None = None
    price_list: int | None = None
    price_list_name: str | None = None
    price_category: str | None = None
    mode: str | None = None
    distance_contact: bool | None = None
    """R1: outpatient care with patient and staff apart (video, phone, chat, async message);
    None while the contact's mode is not known."""
    out_of_region: bool | None = None
    """R2: the patient's home region is not the care region."""
    profession: str | None = None
    credit_reason: int | None = None
    """Inera reasonForCredit that applies if an invoiced line must be credited for this."""
    flags: tuple[str, ...] = ()
    trace: tuple[TraceStep, ...] = ()
