"""Inhabitants per region and municipality (SCB's folkmängd on 31 December), the denominator of
the per-inhabitant indicators (docs/indicators.md).

Why a file of its own and not regions.json's ``population``: that one is a rounded demo weight;
an indicator that a region compares with its own report needs SCB's figure, its date and its
table, and must say when it had to carry an older figure forward. Asylum seekers (län 99,
kommun 9901) are not folkbokförda and have no population: asking for theirs answers
``not_applicable``, never a division. Only ``load_population`` touches the file system.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from routing.episodes.vocabulary import (
    ASYLUM_SEEKER_COUNTY,
    ASYLUM_SEEKER_MUNICIPALITY,
    COUNTY_CODES,
)
from routing.reference.records import CatalogueDataError, DataStatus, IsoDate, Text

NATIONAL = "SE"
NOT_APPLICABLE_AREAS = frozenset({ASYLUM_SEEKER_COUNTY, ASYLUM_SEEKER_MUNICIPALITY})
Area = Annotated[str, StringConstraints(pattern=r"^(SE|\d{2}|\d{4})$")]


class PopulationFigure(BaseModel):
    """Folkmängd of one area (``SE``, a län code or a kommunkod) on 31 December of a year."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    area: Area
    as_of: IsoDate
    inhabitants: Annotated[int, Field(gt=0)]
    source: Text
    status: DataStatus
    derived: str | None = None
    """How the figure was derived when it is not read straight off SCB's table."""
    note: str | None = None
    unconfirmed: tuple[Literal["inhabitants", "as_of"], ...] = ()

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if (self.as_of.month, self.as_of.day) != (12, 31):
            raise ValueError("as_of: SCB's yearly figures are for 31 December")
        if self.area in NOT_APPLICABLE_AREAS:
            raise ValueError(
                f"area: {self.area} means asylum seekers, who are not folkbokförda and have "
                "no population figure"
            )
        county = self.area[:2]
        if self.area != NATIONAL and county not in COUNTY_CODES:
            raise ValueError(f"area: {self.area} lies in no county of regions.json")
        return self


class PopulationFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1]
    status: Annotated[dict[str, Any], Field(min_length=1)]
    sources: Annotated[list[Text], Field(min_length=1)]
    denominator_rule: Text
    figures: tuple[PopulationFigure, ...]

    @model_validator(mode="after")
    def _unique(self) -> Self:
        keys = [(f.area, f.as_of) for f in self.figures]
        if len(set(keys)) != len(keys):
            dupes = sorted({f"{a} {d}" for a, d in keys if keys.count((a, d)) > 1})
            raise ValueError(f"figures: two figures for the same area and date: {dupes}")
        return self


@dataclass(frozen=True)
class Denominator:
    """The population a per-inhabitant figure divides by, and where it comes from."""

    area: str
    status: str
    """``sourced`` / ``illustrative`` (the figure's), ``not_applicable`` (asylum seekers) or
    ``not_available`` (no figure on or before the period's start)."""
    inhabitants: int | None = None
    as_of: date | None = None
    source: str | None = None
    carried_forward: bool = False
    note: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "area": self.area, "status": self.status, "inhabitants": self.inhabitants,
            "as_of": self.as_of.isoformat() if self.as_of else None, "source": self.source,
            "carried_forward": self.carried_forward, "note": self.note,
        }  # fmt: skip


class Population:
    """The validated figures, with the denominator lookup. Build with ``load_population``."""

    def __init__(self, data: PopulationFile, version: str) -> None:
        self.data, self.version = data, version
        self._by_area: dict[str, list[PopulationFigure]] = {}
        for f in sorted(data.figures, key=lambda f: f.as_of):
            self._by_area.setdefault(f.area, []).append(f)

    def denominator(self, area: str, start: date) -> Denominator:
        """The population of ``area`` at the start of a period beginning on ``start``: the
        figure of 31 December of the year before, or the latest earlier one (carried
        forward, said so)."""
        if area in NOT_APPLICABLE_AREAS:
            return Denominator(
                area, "not_applicable",
                note="asylum seekers (99) are not folkbokförda: no population to divide by",
            )  # fmt: skip
        before = [f for f in self._by_area.get(area, ()) if f.as_of < start]
        if not before:
            return Denominator(
                area, "not_available", note=f"no population figure for {area} before {start}"
            )
        f = before[-1]
        expected = date(start.year - 1, 12, 31)
        carried = f.as_of < expected
        notes = [n for n in (f.note, f.derived) if n]
        if carried:
            notes.insert(0, f"carried forward: the latest figure here is of {f.as_of}, not "
                            f"{expected}")  # fmt: skip
        if f.unconfirmed:
            notes.append(f"unconfirmed: {', '.join(f.unconfirmed)}")
        return Denominator(
            area, f.status.value, f.inhabitants, f.as_of, f.source, carried,
            "; ".join(notes) or None,
        )  # fmt: skip


def parse_population(text: str, where: str = "population.json") -> Population:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueDataError(
            f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from exc
    try:
        data = PopulationFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            entry = ""
            if len(e["loc"]) > 1 and e["loc"][0] == "figures" and isinstance(e["loc"][1], int):
                item = raw["figures"][e["loc"][1]]
                if isinstance(item, dict):
                    entry = f" (area {item.get('area')}, as_of {item.get('as_of')})"
            problems.append(f"{where}: {loc}{entry}: {e['msg']}")
        raise CatalogueDataError("invalid reference data:\n  " + "\n  ".join(problems)) from exc
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Population(data, hashlib.sha256(canonical.encode()).hexdigest()[:12])


def load_population(path: str | Path | None = None) -> Population:
    """Reads and validates a population file; without ``path``, the shipped one (cached)."""
    if path is None:
        return _default_population()
    return parse_population(Path(path).read_text(encoding="utf-8"), str(path))


@cache
def _default_population() -> Population:
    resource = files("routing.reference").joinpath("data", "population.json")
    return parse_population(resource.read_text(encoding="utf-8"))
