"""Physical necessity (C6): how physical visits split into necessary, patient preference,
unassessed and avoidable, per care region, care unit and month, and the offer-duty breaches.

Reads the necessity read model (eventually consistent with the store). Regions follow up
whether their units offer distance contact where licensed staff judged it suitable (R4).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel

from api.auth import READS_FINANCE, Reader
from api.deps import read_models
from api.errors import ErrorBody
from api.params import KnownRegion, RegionSchema
from api.routes.positions import caught_up
from projections import necessity as q
from routing.episodes.vocabulary import HSA_PATTERN
from routing.kernel.calendar import MONTH_PATTERN
from routing.necessity import NecessityClassification, shares

router = APIRouter(
    prefix="/necessity",
    tags=["necessity"],
    dependencies=[
        READS_FINANCE,
        Depends(caught_up("necessity")),
    ],
)
Region = Annotated[
    str,
    Query(pattern=r"^\d{2}$", description="Län code of the care region"),
    KnownRegion,
    RegionSchema,
]
Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM, Swedish time")]
Unit = Annotated[
    str | None,
    Query(pattern=HSA_PATTERN, description="HSA-id of the care unit"),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}


class ClassCounts(BaseModel):
    necessary: int = 0
    patient_preference: int = 0
    unassessed: int = 0
    avoidable: int = 0


class ClassShares(BaseModel):
    """Shares of the visits; rounded to 4 decimals so that they add up to exactly 1."""

    necessary: float = 0.0
    patient_preference: float = 0.0
    unassessed: float = 0.0
    avoidable: float = 0.0


class UnitSummary(BaseModel):
    care_unit_id: str
    visits: int
    counts: ClassCounts
    shares: ClassShares
    offer_duty_breaches: int


class NecessitySummary(BaseModel):
    care_region: str
    month: str
    care_unit: str | None = None
    visits: int
    counts: ClassCounts
    shares: ClassShares
    offer_duty_breaches: int
    by_care_unit: list[UnitSummary]


class BreachList(BaseModel):
    care_region: str
    month: str
    breaches: int
    visits: list[NecessityClassification]


def _unit(care_unit_id: str, counts: dict[str, int]) -> UnitSummary:
    by_class = {k: counts.get(k, 0) for k in q.CLASSES}
    return UnitSummary(
        care_unit_id=care_unit_id,
        visits=sum(by_class.values()),
        counts=ClassCounts(**by_class),
        shares=ClassShares(**shares(by_class)),
        offer_duty_breaches=counts.get("breaches", 0),
    )


@router.get("/summary", response_model=NecessitySummary)
def summary(
    request: Request, reader: Reader, care_region: Region, month: Month, care_unit: Unit = None
) -> NecessitySummary:
    """Physical visits of a care region and month by class, in total and per care unit, with
    the number of offer-duty breaches."""
    reader.check(care_region)
    with read_models(request).transaction() as cur:
        units = q.unit_counts(cur, care_region, month, care_unit)
    total = {k: sum(u[k] for u in units.values()) for k in (*q.CLASSES, "breaches")}
    whole = _unit("", total)
    return NecessitySummary(
        care_region=care_region,
        month=month,
        care_unit=care_unit,
        visits=whole.visits,
        counts=whole.counts,
        shares=whole.shares,
        offer_duty_breaches=whole.offer_duty_breaches,
        by_care_unit=[_unit(unit, counts) for unit, counts in units.items()],
    )


@router.get("/breaches", response_model=BreachList)
def breaches(request: Request, reader: Reader, care_region: Region, month: Month) -> BreachList:
    """Visits judged suitable for distance by licensed staff with no distance offer before
    them, under the ds-2023-27 rulebook: each with its episode, reasons and trace."""
    reader.check(care_region)
    with read_models(request).transaction() as cur:
        visits = q.breaches(cur, care_region, month)
    return BreachList(care_region=care_region, month=month, breaches=len(visits), visits=visits)


@router.get(
    "/visits/{episode_id}/{contact_id}",
    response_model=NecessityClassification,
    responses=NOT_FOUND,
)
def visit(
    request: Request,
    reader: Reader,
    episode_id: UUID,
    contact_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")],
) -> NecessityClassification:
    """One physical visit's class, with its reason codes, flags and the rules applied."""
    with read_models(request).transaction() as cur:
        found = q.visit(cur, str(episode_id), contact_id)
    if found is None:
        raise HTTPException(
            404, f"no classified physical visit for contact {contact_id} of episode {episode_id}"
        )
    reader.check(found.care_region)
    return found
