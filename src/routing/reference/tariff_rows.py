"""What the three money files hold, row by row, and what makes a row valid.

Why a module of its own: price_lists.json, reimbursements.json and patient_fees.json are
written by people; these models are the contract those files must meet (one row may name
several price lists, care levels or staff categories at once, amounts are whole SEK, only
outpatient levels are priced). The staff categories and mode classes that key every money
table are defined here too, since the rows are where they first appear. Turning rows into
per-key entries is ``tariffs.py``'s job; reading the files is ``catalogue.py``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from routing.episodes.vocabulary import CareLevel, ContactMode, Profession
from routing.reference.records import (
    DataFile,
    Dated,
    KnownCounty,
    Text,
    check_outpatient,
    check_unique,
)

_Frozen = ConfigDict(extra="forbid", frozen=True)


class PriceCategory(StrEnum):
    """The three staff categories of the SKR 2019 digital prices (500 / 425 / 275)."""

    doctor = "doctor"
    psychologist_group = "psychologist_group"  # psykolog, psykoterapeut, kurator
    other_staff = "other_staff"  # övrig hälso- och sjukvårdspersonal


class ModeClass(StrEnum):
    distance = "distance"
    physical = "physical"

    @classmethod
    def of(cls, mode: ContactMode) -> ModeClass:
        return cls.distance if mode.is_distance else cls.physical

    @property
    def modes(self) -> tuple[ContactMode, ...]:
        return tuple(m for m in ContactMode if ModeClass.of(m) is self)


_PSYCHOLOGIST_GROUP = frozenset(
    {Profession.psychologist, Profession.psychotherapist, Profession.counsellor}
)


def price_category(profession: Profession) -> PriceCategory:
    """doctor → doctor; psychologist, psychotherapist, counsellor → psychologist_group;
    everyone else (nurse, physiotherapist, other licensed, assistant nurse) → other_staff."""
    if profession is Profession.doctor:
        return PriceCategory.doctor
    if profession in _PSYCHOLOGIST_GROUP:
        return PriceCategory.psychologist_group
    return PriceCategory.other_staff


# --- field types -------------------------------------------------------------------------


def _known_price_list(value: int, info: ValidationInfo) -> int:
    ctx = info.context if isinstance(info.context, Mapping) else {}
    known = ctx.get("price_lists")
    if known is not None and value not in known:
        raise ValueError(f"price list {value} is not used by any healthcare region in regions.json")
    return value


PriceListCode = Annotated[int, Field(strict=True, ge=1, le=6), AfterValidator(_known_price_list)]
"""Inera TKB priceList: 1 Norra, 2 Mellansverige, 3 Stockholm/Gotland, 4 Sydöstra, 5 Västra,
6 Södra."""
Amount = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
"""Whole SEK."""


# --- file rows ---------------------------------------------------------------------------


class PriceRow(Dated):
    price_lists: Annotated[tuple[PriceListCode, ...], Field(min_length=1)]
    care_levels: Annotated[tuple[CareLevel, ...], Field(min_length=1)]
    mode_class: ModeClass
    price_categories: Annotated[tuple[PriceCategory, ...], Field(min_length=1)]
    amount: Amount

    @model_validator(mode="after")
    def _keys(self) -> Self:
        check_unique(self.price_lists, "price_lists")
        check_unique(self.care_levels, "care_levels")
        check_unique(self.price_categories, "price_categories")
        check_outpatient(self.care_levels)
        return self


class ReimbursementRow(Dated):
    care_region: KnownCounty
    mode_class: ModeClass
    price_categories: Annotated[tuple[PriceCategory, ...], Field(min_length=1)]
    amount: Amount

    @model_validator(mode="after")
    def _keys(self) -> Self:
        check_unique(self.price_categories, "price_categories")
        return self


class DefaultFeeRow(Dated):
    care_levels: Annotated[tuple[CareLevel, ...], Field(min_length=1)]
    mode_class: ModeClass
    price_categories: Annotated[tuple[PriceCategory, ...], Field(min_length=1)]
    amount: Amount
    """Fee for every mode of the class unless ``mode_amounts`` overrides it."""
    mode_amounts: dict[ContactMode, Amount] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys(self) -> Self:
        check_unique(self.care_levels, "care_levels")
        check_unique(self.price_categories, "price_categories")
        check_outpatient(self.care_levels)
        wrong = [m.value for m in self.mode_amounts if ModeClass.of(m) is not self.mode_class]
        if wrong:
            raise ValueError(f"mode_amounts: {wrong} are not {self.mode_class.value} modes")
        return self


class FeeRow(DefaultFeeRow):
    region: KnownCounty


# --- files -------------------------------------------------------------------------------


class PriceListsFile(DataFile):
    entries: tuple[PriceRow, ...]


class ReimbursementFile(DataFile):
    entries: tuple[ReimbursementRow, ...]


class DefaultFeeSchedule(BaseModel):
    """The configurable fallback for regions (or dates, or keys) without a fee row."""

    model_config = _Frozen
    note: Text
    entries: Annotated[tuple[DefaultFeeRow, ...], Field(min_length=1)]


class PatientFeesFile(DataFile):
    entries: tuple[FeeRow, ...]
    default_schedule: DefaultFeeSchedule
