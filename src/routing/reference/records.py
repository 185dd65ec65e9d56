"""Dated, sourced reference rows: the validation every reference file shares.

Why a module of its own: prices, fees, criteria sets and referral rules are all the same kind
of thing, a row that holds from ``valid_from`` (inclusive) to ``valid_to`` (exclusive or null)
and says where it comes from (``source``) and how far to trust it (``sourced`` or
``illustrative``). The base models, the strict field types (ISO dates only, län codes that
exist in regions.json) and the overlap check on periods live here once, so that
``tariffs.py`` and ``care_rules.py`` describe only their own rows. Nothing here reads files.
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

from routing.episodes.vocabulary import COUNTY_CODES, CareLevel

_Frozen = ConfigDict(extra="forbid", frozen=True)


class CatalogueDataError(ValueError):
    """A reference-data file is missing or invalid; the message names file, entry and field."""


class DataStatus(StrEnum):
    sourced = "sourced"
    """Taken from a cited public source; ``unconfirmed`` lists any guessed fields."""
    illustrative = "illustrative"
    """Plausible values so the engine can run; not a fact about any region."""


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


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
KnownCounty = Annotated[str, StringConstraints(pattern=r"^\d{2}$"), AfterValidator(_known_county)]
"""Län code that must exist in regions.json (checked against the loader's context)."""
Text = Annotated[str, Field(min_length=1)]

T = TypeVar("T")


def check_unique(values: Sequence[T], field: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{field}: duplicate values")


def check_outpatient(levels: Sequence[CareLevel]) -> None:
    inpatient = [lvl.value for lvl in levels if not lvl.is_outpatient]
    if inpatient:
        raise ValueError(f"care_levels: only outpatient levels are priced here, not {inpatient}")


# --- rows and entries --------------------------------------------------------------------


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


class DataFile(BaseModel):
    """What every catalogue file has besides its entries."""

    model_config = _Frozen
    schema_version: Literal[1]
    status: Annotated[dict[str, Any], Field(min_length=1)]
    """Which parts are sourced and which illustrative, in words."""
    sources: Annotated[list[Text], Field(min_length=1)]


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
