"""Dated money tables: out-of-region prices, provider reimbursement and patient fees.

Every row in the shipped files carries its validity (``valid_from`` inclusive, ``valid_to``
exclusive or null), its ``source`` and whether it is ``sourced`` or ``illustrative``. A row may
name several keys at once (e.g. all six price lists); the loader flattens rows into one entry
per key, each remembering the row it came from (``origin``), so that a decision can cite the
exact line of reference data it used. Nothing here reads files; see ``catalogue.py``.

Why this module holds only the lookup side: the flattened entries, their keys and the
completeness check on the default fee schedule are what the engine asks for; the shared
dated-row machinery lives in ``records.py`` and the file rows in ``tariff_rows.py``. Every name
that used to be defined here is re-exported, so ``from routing.reference.tariffs import ...``
keeps working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import pairwise

from routing.episodes.vocabulary import CareLevel, ContactMode
from routing.reference.records import (
    CatalogueDataError,
    DataFile,
    DataStatus,
    Dated,
    Entry,
    IsoDate,
    KnownCounty,
    Text,
    check_outpatient,
    check_unique,
    in_force,
    index_periods,
    provenance,
)
from routing.reference.tariff_rows import (
    Amount,
    DefaultFeeRow,
    DefaultFeeSchedule,
    FeeRow,
    ModeClass,
    PatientFeesFile,
    PriceCategory,
    PriceListCode,
    PriceListsFile,
    PriceRow,
    ReimbursementFile,
    ReimbursementRow,
    price_category,
)

__all__ = [
    "DEFAULT_SCHEDULE",
    "Amount",
    "CatalogueDataError",
    "DataFile",
    "DataStatus",
    "Dated",
    "DefaultFeeRow",
    "DefaultFeeSchedule",
    "Entry",
    "FeeEntry",
    "FeeKey",
    "FeeRow",
    "IsoDate",
    "KnownCounty",
    "ModeClass",
    "NoFeeSchedule",
    "PatientFeesFile",
    "PriceCategory",
    "PriceEntry",
    "PriceKey",
    "PriceListCode",
    "PriceListsFile",
    "PriceRow",
    "ReimbursementEntry",
    "ReimbursementFile",
    "ReimbursementKey",
    "ReimbursementRow",
    "Text",
    "check_outpatient",
    "check_unique",
    "default_fee_gaps",
    "flatten_fees",
    "flatten_prices",
    "flatten_reimbursements",
    "in_force",
    "index_periods",
    "price_category",
    "provenance",
]


class NoFeeSchedule(LookupError):  # noqa: N818 - a lookup outcome, reads better unsuffixed
    """Neither the region nor the default schedule has a fee for this key and date."""


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
