"""The care guarantee's dated reference data: national limits (the ceiling), each region's own
shorter limits, regional extensions and coverage agreements, the early-warning windows, the
proposed 14-day answer, the agreed specialty targets and the follow-up targets of the national
agreements (``data/care_guarantee.json``).

Why a file and not constants: limits, extensions and targets change by decision and date, and a
region reads its history with the rules of each day. Loading refuses a regional limit longer
than the national one in force (SOU 2021:59 §6.7.1: "Tidsgränserna kan vara kortare men de kan
inte vara längre"), naming the entry, as the catalogue does for its files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Annotated, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from routing.episodes.vocabulary import CountyCode, ReferralPurpose, Specialty
from routing.guarantee.days import ClockKind

_Frozen = ConfigDict(extra="forbid", frozen=True)
Days = Annotated[int, Field(ge=0, le=365)]


class GuaranteeDataError(ValueError):
    """The care-guarantee reference file is invalid; the message names the entry and field."""


class _Dated(BaseModel):
    model_config = _Frozen
    valid_from: date
    valid_to: date | None = None
    source: Annotated[str, Field(min_length=1)]
    status: Literal["sourced", "illustrative"] = "sourced"
    unconfirmed: tuple[str, ...] = ()
    note: str | None = None

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


class Limit(_Dated):
    clock: ClockKind
    days: Days


class RegionalLimit(Limit):
    region: CountyCode


class Extension(_Dated):
    """A region's guarantee covering what the national one does not (e.g. examinations)."""

    id: Annotated[str, Field(min_length=1)]
    home_region: CountyCode
    purposes: tuple[ReferralPurpose, ...]
    clock: ClockKind


class CoverageAgreement(_Dated):
    """The home region's guarantee also applies to care in these regions (an agreement)."""

    home_region: CountyCode
    care_regions: tuple[CountyCode, ...]


class SpecialtyTarget(Limit):
    specialty: Specialty


class AnswerRule(BaseModel):
    model_config = _Frozen
    id: str
    days: Days
    source: str


class FollowUpTarget(_Dated):
    """A target of a national agreement: a share within ``within_days`` (``share``), an
    improvement in percentage points against the same period a year before (``improvement``),
    or either (``share_or_improvement``)."""

    id: Annotated[str, Field(min_length=1)]
    clock: ClockKind
    specialty: Specialty | None = None
    within_days: Days
    kind: Literal["share", "improvement", "share_or_improvement"]
    share: Annotated[float, Field(gt=0, le=1)] | None = None
    improvement_points: Annotated[float, Field(gt=0, le=100)] | None = None
    base: Literal["same_period_previous_year"] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.kind != "improvement" and self.share is None:
            raise ValueError(f"share: a '{self.kind}' target needs a share")
        if self.kind != "share" and self.improvement_points is None:
            raise ValueError(f"improvement_points: a '{self.kind}' target needs them")
        return self


class GuaranteeRules(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    schema_version: Literal[1]
    national_limits: tuple[Limit, ...]
    regional_limits: tuple[RegionalLimit, ...]
    extensions: tuple[Extension, ...]
    coverage_agreements: tuple[CoverageAgreement, ...]
    warning_days: dict[ClockKind, Days]
    answer_rule: AnswerRule
    specialty_targets: tuple[SpecialtyTarget, ...]
    follow_up_targets: tuple[FollowUpTarget, ...]

    @model_validator(mode="after")
    def _never_longer(self) -> Self:
        """A region may set a shorter limit, never a longer one, on any day it is in force."""
        for i, row in enumerate(self.regional_limits):
            ceilings = [
                n for n in self.national_limits if n.clock is row.clock and _overlap(n, row)
            ]
            longer = [n for n in ceilings if row.days > n.days]
            if longer or not ceilings:
                limit = f"{longer[0].days} days" if longer else "no national limit"
                raise ValueError(
                    f"regional_limits[{i}] (region {row.region}, {row.clock.value}): days "
                    f"{row.days} is longer than the national limit ({limit}): regions may set "
                    "shorter limits, never longer"
                )
        return self

    # --- lookups -------------------------------------------------------------------------

    def limit(self, kind: ClockKind, region: str, on: date) -> tuple[int, str, bool]:
        """(days, source, regional) of the limit in force for ``region`` on ``on``."""
        national = _first(n for n in self.national_limits if n.clock is kind and n.in_force(on))
        days, source = (national.days, national.source) if national else (kind.limit, "")
        own = _first(
            r for r in self.regional_limits
            if r.region == region and r.clock is kind and r.in_force(on)
        )  # fmt: skip
        if own is not None and own.days < days:
            return own.days, own.source, True
        return days, source, False

    def extension(self, region: str, purpose: ReferralPurpose, on: date) -> Extension | None:
        return _first(
            x for x in self.extensions
            if x.home_region == region and purpose in x.purposes and x.in_force(on)
        )  # fmt: skip

    def agreement(self, home: str, care: str, on: date) -> CoverageAgreement | None:
        return _first(
            a for a in self.coverage_agreements
            if a.home_region == home and care in a.care_regions and a.in_force(on)
        )  # fmt: skip

    def target(self, kind: ClockKind, specialty: str | None, on: date) -> SpecialtyTarget | None:
        return _first(
            t for t in self.specialty_targets
            if t.clock is kind and t.specialty.value == specialty and t.in_force(on)
        )  # fmt: skip

    def targets_in(self, start: date, end: date) -> list[FollowUpTarget]:
        """Follow-up targets in force on any day of [start, end)."""
        return [t for t in self.follow_up_targets if _overlap_days(t, start, end)]


D = TypeVar("D")


def _first(items: Iterable[D]) -> D | None:
    return next(iter(items), None)


def _overlap(a: _Dated, b: _Dated) -> bool:
    return _overlap_days(a, b.valid_from, b.valid_to or date.max)


def _overlap_days(a: _Dated, start: date, end: date) -> bool:
    return a.valid_from < end and (a.valid_to is None or start < a.valid_to)


def parse_rules(text: str | bytes, name: str = "care_guarantee.json") -> GuaranteeRules:
    try:
        return GuaranteeRules.model_validate(json.loads(text))
    except (ValueError, ValidationError) as e:
        raise GuaranteeDataError(f"{name}: {e}") from e


@cache
def guarantee_rules() -> GuaranteeRules:
    """The shipped reference data (read once)."""
    data = files("routing.guarantee").joinpath("data/care_guarantee.json").read_bytes()
    return parse_rules(data)


__all__: Sequence[str] = ("GuaranteeDataError", "GuaranteeRules", "guarantee_rules", "parse_rules")
