"""Dated money tables: out-of-region prices, provider reimbursement and patient fees.

Every row in the shipped files carries its validity (``valid_from`` inclusive, ``valid_to``
exclusive or null), its ``source`` and whether it is ``sourced`` or ``illustrative``. A row may
name several keys at once (e.g. all six price lists); the loader flattens rows into one entry
per key, each remembering the row it came from (``origin``), so that a decision can cite the
exact line of reference data it used. Nothing here reads files; see ``catalogue.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import date
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from routing.episodes.vocabulary import COUNTY_CODES, CareLevel, ContactMode, Profession

_Frozen = ConfigDict(extra="forbid", frozen=True)


class CatalogueDataError(ValueError):
    """A reference-data file is missing or invalid; the message names file, entry and field."""


class NoFeeSchedule(LookupError):  # noqa: N818 - a lookup outcome, reads better unsuffixed
    """Neither the region nor the default schedule has a fee for this key and date."""


class DataStatus(StrEnum):
    sourced = "sourced"
    """Taken from a seed or the reference file; ``unconfirmed`` lists any guessed fields."""
    illustrative = "illustrative"
    """Plausible values so the engine can run; not a fact about any region."""


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

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    """Only 'YYYY-MM-DD' strings (or dates): pydantic would otherwise accept 0 as 1970-01-01."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError(f"expected an ISO date 'YYYY-MM-DD', got {value!r}")
    return value


def _context_counties(info: ValidationInfo) -> frozenset[str]:
    ctx = info.context if isinstance(info.context, Mapping) else {}
    counties = ctx.get("counties")
    return frozenset(counties) if counties is not None else COUNTY_CODES


def _known_county(value: str, info: ValidationInfo) -> str:
    if value not in _context_counties(info):
        raise ValueError(f"region {value!r} is not a län code in regions.json")
    return value


def _known_price_list(value: int, info: ValidationInfo) -> int:
    ctx = info.context if isinstance(info.context, Mapping) else {}
    known = ctx.get("price_lists")
    if known is not None and value not in known:
        raise ValueError(f"price list {value} is not used by any healthcare region in regions.json")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
KnownCounty = Annotated[str, StringConstraints(pattern=r"^\d{2}$"), AfterValidator(_known_county)]
"""Län code that must exist in regions.json (checked against the loader's context)."""
PriceListCode = Annotated[int, Field(strict=True, ge=1, le=6), AfterValidator(_known_price_list)]
"""Inera TKB priceList: 1 Norra, 2 Mellansverige, 3 Stockholm/Gotland, 4 Sydöstra, 5 Västra,
6 Södra."""
Amount = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
"""Whole SEK."""
Text = Annotated[str, Field(min_length=1)]

T = TypeVar("T")


def check_unique(values: Sequence[T], field: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{field}: duplicate values")


class Dated(BaseModel):
    """Validity and provenance, shared by every row and every flattened entry."""

    model_config = _Frozen
    valid_from: IsoDate
    valid_to: IsoDate | None
    """Exclusive; null = still in force."""
    source: Text
    status: DataStatus
    note: str | None = None
    unconfirmed: tuple[str, ...] = ()
    """Fields whose value is a guess even though the entry is sourced (e.g. a start date)."""

    @model_validator(mode="after")
    def _dated(self) -> Self:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(
                f"valid_to: {self.valid_to} must be after valid_from {self.valid_from}"
            )
        unknown = sorted(set(self.unconfirmed) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"unconfirmed: names no field of this entry: {', '.join(unknown)}")
        return self

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)

    def period(self) -> str:
        return f"{self.valid_from}..{self.valid_to or ''}"


class Entry(Dated):
    """A flattened entry: one key, one period, and the file row it came from."""

    origin: str
    """e.g. 'price_lists.json entries[3]'."""

    def cite(self) -> str:
        guessed = f"; unconfirmed: {', '.join(self.unconfirmed)}" if self.unconfirmed else ""
        return f"{self.source} [{self.status.value}{guessed}] ({self.origin})"


def check_outpatient(levels: Sequence[CareLevel]) -> None:
    inpatient = [lvl.value for lvl in levels if not lvl.is_outpatient]
    if inpatient:
        raise ValueError(f"care_levels: only outpatient levels are priced here, not {inpatient}")


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


class DataFile(BaseModel):
    """What every catalogue file has besides its entries."""

    model_config = _Frozen
    schema_version: Literal[1]
    status: Annotated[dict[str, Any], Field(min_length=1)]
    """Which parts are sourced and which illustrative, in words."""
    sources: Annotated[list[Text], Field(min_length=1)]


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


# --- flattened entries (what the lookups return) -----------------------------------------


class PriceEntry(Entry):
    price_list: int
    care_level: CareLevel
    mode_class: ModeClass
    price_category: PriceCategory
    amount: int


class ReimbursementEntry(Entry):
    care_region: str
    mode_class: ModeClass
    price_category: PriceCategory
    amount: int


DEFAULT_SCHEDULE = "default"


class FeeEntry(Entry):
    schedule: str
    """The region whose schedule the fee comes from, or 'default'."""
    care_level: CareLevel
    price_category: PriceCategory
    mode: ContactMode
    mode_class: ModeClass
    amount: int
    mode_override: bool = False
    """True when the amount is a per-mode override of the mode class's fee."""
    fallback_for: str | None = None
    """Set when the default schedule answered for this region (which has no matching row)."""

    @property
    def is_default(self) -> bool:
        return self.schedule == DEFAULT_SCHEDULE


def provenance(row: Dated, origin: str) -> dict[str, Any]:
    return {
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "source": row.source,
        "status": row.status,
        "note": row.note,
        "unconfirmed": row.unconfirmed,
        "origin": origin,
    }


PriceKey = tuple[int, CareLevel, ModeClass, PriceCategory]
ReimbursementKey = tuple[str, ModeClass, PriceCategory]
FeeKey = tuple[str, CareLevel, PriceCategory, ContactMode]


def flatten_prices(rows: Iterable[PriceRow], file: str) -> list[tuple[PriceKey, PriceEntry]]:
    out: list[tuple[PriceKey, PriceEntry]] = []
    for i, row in enumerate(rows):
        for pl in row.price_lists:
            for lvl in row.care_levels:
                for cat in row.price_categories:
                    entry = PriceEntry(
                        price_list=pl, care_level=lvl, mode_class=row.mode_class,
                        price_category=cat, amount=row.amount,
                        **provenance(row, f"{file} entries[{i}]"),
                    )  # fmt: skip
                    out.append(((pl, lvl, row.mode_class, cat), entry))
    return out


def flatten_reimbursements(
    rows: Iterable[ReimbursementRow], file: str
) -> list[tuple[ReimbursementKey, ReimbursementEntry]]:
    out: list[tuple[ReimbursementKey, ReimbursementEntry]] = []
    for i, row in enumerate(rows):
        for cat in row.price_categories:
            entry = ReimbursementEntry(
                care_region=row.care_region, mode_class=row.mode_class, price_category=cat,
                amount=row.amount, **provenance(row, f"{file} entries[{i}]"),
            )  # fmt: skip
            out.append(((row.care_region, row.mode_class, cat), entry))
    return out


def flatten_fees(
    rows: Iterable[DefaultFeeRow], file: str, section: str
) -> list[tuple[FeeKey, FeeEntry]]:
    out: list[tuple[FeeKey, FeeEntry]] = []
    for i, row in enumerate(rows):
        schedule = row.region if isinstance(row, FeeRow) else DEFAULT_SCHEDULE
        for lvl in row.care_levels:
            for cat in row.price_categories:
                for mode in row.mode_class.modes:
                    entry = FeeEntry(
                        schedule=schedule, care_level=lvl, price_category=cat, mode=mode,
                        mode_class=row.mode_class,
                        amount=row.mode_amounts.get(mode, row.amount),
                        mode_override=mode in row.mode_amounts,
                        **provenance(row, f"{file} {section}[{i}]"),
                    )  # fmt: skip
                    out.append(((schedule, lvl, cat, mode), entry))
    return out


# --- periods -----------------------------------------------------------------------------

K = TypeVar("K", bound=Hashable)
E = TypeVar("E", bound=Entry)


def index_periods(
    pairs: Iterable[tuple[K, E]], describe: Callable[[K], str]
) -> tuple[dict[K, tuple[E, ...]], list[str]]:
    """Groups entries by key, sorted by valid_from; reports overlapping periods per key."""
    grouped: dict[K, list[E]] = {}
    for key, entry in pairs:
        grouped.setdefault(key, []).append(entry)
    problems: list[str] = []
    index: dict[K, tuple[E, ...]] = {}
    for key, entries in grouped.items():
        entries.sort(key=lambda e: e.valid_from)
        for prev, nxt in pairwise(entries):
            if prev.valid_to is None or prev.valid_to > nxt.valid_from:
                problems.append(
                    f"{nxt.origin} (valid_from/valid_to {nxt.period()}) overlaps "
                    f"{prev.origin} ({prev.period()}) for {describe(key)}"
                )
        index[key] = tuple(entries)
    return index, problems


def in_force(entries: Iterable[E], on: date) -> E | None:
    for entry in entries:
        if entry.in_force(on):
            return entry
    return None


def default_fee_gaps(fees: Mapping[FeeKey, tuple[FeeEntry, ...]]) -> list[str]:
    """The default schedule must answer every outpatient key, without gaps, up to today."""
    problems: list[str] = []
    for level in (lvl for lvl in CareLevel if lvl.is_outpatient):
        for category in PriceCategory:
            for mode in ContactMode:
                where = f"{level.value} / {category.value} / {mode.value}"
                entries = fees.get((DEFAULT_SCHEDULE, level, category, mode), ())
                if not entries:
                    problems.append(f"patient_fees.json: default_schedule: no fee for {where}")
                    continue
                for prev, nxt in pairwise(entries):
                    if prev.valid_to is not None and prev.valid_to < nxt.valid_from:
                        problems.append(f"{nxt.origin}: valid_from: gap in the default schedule "
                                        f"for {where} after {prev.origin}")  # fmt: skip
                if entries[-1].valid_to is not None:
                    problems.append(f"{entries[-1].origin}: valid_to: the default schedule must "
                                    f"stay open-ended for {where}")  # fmt: skip
    return problems
