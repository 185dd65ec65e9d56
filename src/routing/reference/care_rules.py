"""Dated care-process reference data: criteria sets (C4), referral requirements (R8) and each
region's own digital entry points (R7). Row models and their flattened entries; no file access.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import pairwise
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from routing.episodes.vocabulary import (
    AgeBand,
    CareLevel,
    ContactMode,
    Principle,
    Profession,
    Specialty,
)
from routing.reference.tariffs import (
    DataFile,
    Dated,
    Entry,
    KnownCounty,
    Text,
    check_outpatient,
    check_unique,
    provenance,
)

_Frozen = ConfigDict(extra="forbid", frozen=True)

CriteriaSetId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
"""Same shape as ``events.CriteriaSetRef.id``."""
CriteriaVersion = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
CriterionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]


class Criterion(BaseModel):
    model_config = _Frozen
    text: Text
    principle: Principle | None = None
    """Which of Socialstyrelsen's four principles (R5) this criterion checks, if any."""


class CriteriaSet(Dated):
    """A need-and-suitability criteria set (Ds 2023:27; C4), one version of it."""

    id: CriteriaSetId
    version: CriteriaVersion
    title: Text
    owner: Text
    """Who decided the set (a region, or the national partnership for a harmonised set)."""
    owning_region: KnownCounty | None
    """Null for a national harmonised set, which regions adopt by their own decision."""
    adopted_by: Annotated[tuple[KnownCounty, ...], Field(min_length=1)]
    """Regions whose criteria this is, for the whole validity of this version."""
    required_criteria: Annotated[tuple[CriterionId, ...], Field(min_length=4)]
    criteria: dict[CriterionId, Criterion]
    """Text of each required criterion, keyed by id."""
    allowed_professions: Annotated[tuple[Profession, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        check_unique(self.adopted_by, "adopted_by")
        check_unique(self.required_criteria, "required_criteria")
        check_unique(self.allowed_professions, "allowed_professions")
        if set(self.criteria) != set(self.required_criteria):
            raise ValueError("criteria: must describe exactly the required_criteria ids")
        covered = {c.principle for c in self.criteria.values() if c.principle is not None}
        missing = [p.value for p in Principle if p not in covered]
        if missing:
            raise ValueError(
                f"required_criteria: must cover all four principles (R5); missing {missing}"
            )
        unlicensed = [p.value for p in self.allowed_professions if not p.is_licensed]
        if unlicensed:
            raise ValueError(
                f"allowed_professions: the judgement belongs to licensed staff (R6), "
                f"not {unlicensed}"
            )
        if self.owning_region is not None and self.owning_region not in self.adopted_by:
            raise ValueError(f"adopted_by: must include the owning region {self.owning_region}")
        return self

    def adopted_by_on(self, region: str, on: date) -> bool:
        """True when ``region`` uses this version of the set on ``on`` (C4)."""
        return region in self.adopted_by and self.in_force(on)


def _specialty(value: str) -> str:
    if value != "*" and value not in Specialty.__members__:
        raise ValueError(f"specialty: '*' or one of {', '.join(Specialty)}, not {value!r}")
    return value


class ReferralRow(Dated):
    home_regions: Annotated[tuple[KnownCounty, ...], Field(min_length=1)]
    """The regions whose own rule this is (as home region: who pays; as care region: whether a
    self-referral is possible there)."""
    care_levels: Annotated[tuple[CareLevel, ...], Field(min_length=1)]
    specialty: Annotated[str, AfterValidator(_specialty)] = "*"
    """'*' = any specialty no row names, else a ``Specialty`` (SOU 2021:59 table 6.1)."""
    age_bands: tuple[AgeBand, ...] | None = None
    """The rule applies to these age bands only (Gotland: children over two)."""
    required: bool

    @model_validator(mode="after")
    def _keys(self) -> Self:
        check_unique(self.home_regions, "home_regions")
        check_unique(self.care_levels, "care_levels")
        check_outpatient(self.care_levels)
        return self


class ReferralRequirement(Entry):
    """Does the region require a referral (remiss) for this care (R8, R21)?"""

    home_region: str
    care_level: CareLevel
    specialty: str
    required: bool
    age_bands: tuple[AgeBand, ...] | None = None

    def applies_to(self, band: AgeBand | None) -> bool:
        """Whether the rule binds a patient of ``band`` (unknown: it does, to be safe)."""
        return self.age_bands is None or band is None or band in self.age_bands


ReferralKey = tuple[str, CareLevel, str]


def flatten_referrals(
    rows: Iterable[ReferralRow], file: str
) -> list[tuple[ReferralKey, ReferralRequirement]]:
    out: list[tuple[ReferralKey, ReferralRequirement]] = []
    for i, row in enumerate(rows):
        for region in row.home_regions:
            for lvl in row.care_levels:
                entry = ReferralRequirement(
                    home_region=region, care_level=lvl, specialty=row.specialty,
                    required=row.required, age_bands=row.age_bands,
                    **provenance(row, f"{file} entries[{i}]"),
                )  # fmt: skip
                out.append(((region, lvl, row.specialty), entry))
    return out


class EntryPointRow(Dated):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
    regions: Annotated[tuple[KnownCounty, ...], Field(min_length=1)]
    name: Text
    kind: Annotated[str, StringConstraints(pattern=r"^(region_service|vardval_provider)$")]
    """region_service: run by the region (e.g. 1177 direkt); vardval_provider: a provider under
    the region's own contract (in-region for R2, so a valid first door for R7)."""
    modes: Annotated[tuple[ContactMode, ...], Field(min_length=1)]
    care_levels: Annotated[tuple[CareLevel, ...], Field(min_length=1)]
    url: Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$")]

    @model_validator(mode="after")
    def _keys(self) -> Self:
        check_unique(self.regions, "regions")
        check_unique(self.modes, "modes")
        check_unique(self.care_levels, "care_levels")
        check_outpatient(self.care_levels)
        if not any(m.is_distance for m in self.modes):
            raise ValueError("modes: a digital entry point offers at least one distance mode")
        return self


class EntryPoint(Entry):
    id: str
    region: str
    name: str
    kind: str
    modes: tuple[ContactMode, ...]
    care_levels: tuple[CareLevel, ...]
    url: str


def flatten_entry_points(
    rows: Iterable[EntryPointRow], file: str
) -> list[tuple[tuple[str, str], EntryPoint]]:
    out: list[tuple[tuple[str, str], EntryPoint]] = []
    for i, row in enumerate(rows):
        for region in row.regions:
            entry = EntryPoint(
                id=row.id, region=region, name=row.name, kind=row.kind, modes=row.modes,
                care_levels=row.care_levels, url=row.url,
                **provenance(row, f"{file} entries[{i}]"),
            )  # fmt: skip
            out.append(((row.id, region), entry))
    return out


class CriteriaSetsFile(DataFile):
    entries: tuple[CriteriaSet, ...]


class ReferralFile(DataFile):
    entries: tuple[ReferralRow, ...]


class EntryPointsFile(DataFile):
    entries: tuple[EntryPointRow, ...]


def criteria_problems(file: CriteriaSetsFile, name: str = "criteria_sets.json") -> list[str]:
    """(id, version) is unique, and the versions of one id follow each other without overlap."""
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    by_id: dict[str, list[tuple[int, CriteriaSet]]] = {}
    for i, cs in enumerate(file.entries):
        if (cs.id, cs.version) in seen:
            first = seen[(cs.id, cs.version)]
            problems.append(f"{name}: entries[{i}] (key: id={cs.id}, version={cs.version}): "
                            f"version: duplicates entries[{first}]")  # fmt: skip
        seen.setdefault((cs.id, cs.version), i)
        by_id.setdefault(cs.id, []).append((i, cs))
    for versions in by_id.values():
        versions.sort(key=lambda v: v[1].valid_from)
        for (j, prev), (i, nxt) in pairwise(versions):
            if prev.valid_to is None or prev.valid_to > nxt.valid_from:
                problems.append(
                    f"{name}: entries[{i}] (key: id={nxt.id}, version={nxt.version}): "
                    f"valid_from/valid_to {nxt.period()} overlaps entries[{j}] "
                    f"(version {prev.version}, {prev.period()})"
                )
    return problems
