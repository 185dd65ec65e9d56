"""The 21 regions as reference data: län codes, healthcare regions, price lists, populations.

Why a validated file and not constants: the same facts feed billing (TKB ``priceList``),
routing (healthcare region) and the demo data (population weights), and they change by
decision, not by release. A file that is wrong must stop the service at start-up, naming the
file, the entry and the field, rather than mis-price invoices later.

Halland is the one region split between two healthcare regions (SCB, SKR), so the
healthcare region is a property of a (county, municipality) pair, never of a county alone.
Only ``load_regions`` touches the file system; everything else here is pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from routing.episodes.vocabulary import COUNTY_CODES


class HealthcareRegion(StrEnum):
    """Sjukvårdsregion (HSF 2017:80 3 kap. 1 §): the six groupings with a shared price list."""

    norra = "norra"
    mellansverige = "mellansverige"  # Uppsala-Örebro
    stockholm_gotland = "stockholm_gotland"
    sydostra = "sydostra"
    vastra = "vastra"
    sodra = "sodra"


MunicipalityCode = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
_Frozen = ConfigDict(extra="forbid", frozen=True)


class RegionsDataError(ValueError):
    """The regions file is unreadable or invalid; the message names file, entry and problem."""


class UnknownRegion(LookupError):  # noqa: N818 - a lookup outcome, reads better unsuffixed
    """A county or municipality code the reference data cannot place."""


class HealthcareRegionInfo(BaseModel):
    model_config = _Frozen
    name: Annotated[str, Field(min_length=1)]
    price_list: Annotated[int, Field(ge=1, le=6)]
    """Inera TKB ``priceList`` code: 1 Norra ... 6 Södra."""


class Municipality(BaseModel):
    model_config = _Frozen
    code: MunicipalityCode
    name: Annotated[str, Field(min_length=1)]
    healthcare_region: HealthcareRegion | None = None
    """Only where the county is split (Halland); otherwise the county's region applies."""


class Region(BaseModel):
    """One of the 21 regions (län)."""

    model_config = _Frozen
    county: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    county_name: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    iso_3166_2: Annotated[str, StringConstraints(pattern=r"^SE-[A-Z]{1,2}$")]
    healthcare_region: HealthcareRegion | None
    """None only for a county split by municipality (Halland)."""
    price_list: Annotated[int, Field(ge=1, le=6)] | None
    population: Annotated[int, Field(gt=0)]
    """Approximate (SCB 2023, rounded): weights demo data, never used for money."""
    seat: MunicipalityCode
    """Kommunkod of the residence city (residensstad)."""
    municipalities: Annotated[tuple[Municipality, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.county not in COUNTY_CODES:
            raise ValueError(f"county {self.county} is not one of the 21 regions' län codes")
        codes = [m.code for m in self.municipalities]
        if len(set(codes)) != len(codes):
            raise ValueError("municipalities: duplicate kommunkod")
        for m in self.municipalities:
            if m.code[:2] != self.county:
                raise ValueError(f"municipalities: {m.code} does not lie in county {self.county}")
            if self.healthcare_region is None and m.healthcare_region is None:
                raise ValueError(
                    f"municipalities: {m.code} needs a healthcare_region, because the county "
                    "has none (split county)"
                )
            if self.healthcare_region is not None and m.healthcare_region not in (
                None,
                self.healthcare_region,
            ):
                raise ValueError(
                    f"municipalities: {m.code} names {m.healthcare_region}, but the county "
                    f"belongs to {self.healthcare_region}"
                )
        if (self.healthcare_region is None) != (self.price_list is None):
            raise ValueError("price_list: must be null exactly when healthcare_region is null")
        if self.seat not in codes:
            raise ValueError(f"seat: {self.seat} is not among the listed municipalities")
        return self

    @property
    def split(self) -> bool:
        return self.healthcare_region is None


class Regions(BaseModel):
    """The whole file: status note, healthcare regions and the 21 regions, with lookups."""

    model_config = _Frozen
    schema_version: int
    status: dict[str, Any]
    sources: Annotated[list[str], Field(min_length=1)]
    healthcare_regions: dict[HealthcareRegion, HealthcareRegionInfo]
    regions: tuple[Region, ...]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        counties = [r.county for r in self.regions]
        if len(set(counties)) != len(counties):
            raise ValueError("regions: duplicate county code")
        if set(counties) != COUNTY_CODES:
            missing = sorted(COUNTY_CODES - set(counties))
            raise ValueError(f"regions: must list all 21 regions; missing {', '.join(missing)}")
        if set(self.healthcare_regions) != set(HealthcareRegion):
            raise ValueError("healthcare_regions: must describe all six healthcare regions")
        for r in self.regions:
            if r.healthcare_region is not None:
                expected = self.healthcare_regions[r.healthcare_region].price_list
                if r.price_list != expected:
                    raise ValueError(
                        f"regions: county {r.county} has price_list {r.price_list}, but "
                        f"{r.healthcare_region} uses {expected}"
                    )
        return self

    # --- lookups -------------------------------------------------------------------------

    @property
    def counties(self) -> tuple[str, ...]:
        return tuple(r.county for r in self.regions)

    def by_county(self, county: str) -> Region:
        for r in self.regions:
            if r.county == county:
                return r
        raise UnknownRegion(f"no region with län code {county!r}")

    def healthcare_region(self, county: str, municipality: str) -> HealthcareRegion:
        """The patient's or unit's healthcare region; Halland depends on the municipality."""
        region = self.by_county(county)
        if municipality[:2] != county:
            raise UnknownRegion(f"municipality {municipality} does not lie in county {county}")
        if region.healthcare_region is not None:
            return region.healthcare_region
        for m in region.municipalities:
            if m.code == municipality and m.healthcare_region is not None:
                return m.healthcare_region
        raise UnknownRegion(
            f"county {county} is split between healthcare regions and municipality "
            f"{municipality} is not listed"
        )

    def price_list(self, county: str, municipality: str) -> int:
        """Inera TKB ``priceList`` code for a unit in this county and municipality."""
        hr = self.healthcare_region(county, municipality)
        return self.healthcare_regions[hr].price_list

    def population_weights(self) -> Mapping[str, int]:
        """County code → approximate population, for weighting demo patients' home regions."""
        return {r.county: r.population for r in self.regions}


def _entry_name(raw: Any, loc: tuple[int | str, ...]) -> str:
    """Names the entry a validation error is about, e.g. ``regions[10] (county 13, ...)``."""
    if len(loc) >= 2 and loc[0] == "regions" and isinstance(loc[1], int):
        entry = f"regions[{loc[1]}]"
        try:
            item = raw["regions"][loc[1]]
            entry += f" (county {item.get('county')}, {item.get('name')})"
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
        field = ".".join(str(p) for p in loc[2:]) or "(entry)"
        return f"{entry}: {field}"
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_regions(raw: Any, source: str) -> Regions:
    """Validates already-decoded JSON; ``source`` names the file in error messages."""
    try:
        return Regions.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_entry_name(raw, tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise RegionsDataError(f"{source}: invalid regions data: " + "; ".join(problems)) from exc


def load_regions(path: str | Path | None = None) -> Regions:
    """Reads and validates a regions file; without ``path``, the shipped one (cached)."""
    if path is None:
        return _default_regions()
    return _load(Path(path).read_text(encoding="utf-8"), str(path))


@cache
def _default_regions() -> Regions:
    resource = files("routing.reference").joinpath("data", "regions.json")
    return _load(resource.read_text(encoding="utf-8"), str(resource))


def _load(text: str, source: str) -> Regions:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegionsDataError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from exc
    return parse_regions(raw, source)
