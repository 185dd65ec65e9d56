"""Reference data front-ends and finance need, as the rules read it: criteria sets, patient fee
schedules, out-of-region price lists, provider reimbursement, regions (with healthcare regions
and municipalities), referral requirements and each region's digital entry points.

Every answer names the reference-data ``version`` in force (the digest a decision records as
``reference_version``, also sent as ``ETag``); every entry carries its validity period, its
source and whether it is sourced or illustrative. ``on`` keeps the entries in force that day;
``region`` keeps those that concern a region (owning or adopting it, its fees, its referral
rules, its doors). Public reference data, no patient data: every role may read it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from api.auth import require
from api.params import Day, KnownRegion, RegionSchema
from routing.access import Role
from routing.reference import load_reference_data
from routing.reference.regions import load_regions

router = APIRouter(
    prefix="/reference",
    tags=["reference data"],
    dependencies=[Depends(require(*Role))],
)
On = Annotated[
    Day | None, Query(description="Only entries in force this day (YYYY-MM-DD, Swedish date).")
]
RegionFilter = Annotated[
    str | None,
    Query(pattern=r"^\d{2}$", description="Only entries that concern this region (län code)."),
    KnownRegion,
    RegionSchema,
]


class ReferenceOut(BaseModel):
    version: str = Field(description="Digest of the reference data in force (`reference_version`).")
    file: str
    status: dict[str, Any] = Field(description="What in the file is sourced or illustrative.")
    sources: list[str]
    entries: list[dict[str, Any]]


def _regions_of(name: str, entry: dict[str, Any]) -> set[str]:
    """The regions an entry concerns, by file."""
    if name == "criteria_sets.json":
        return {*entry["adopted_by"], *([entry["owning_region"]] if entry["owning_region"] else [])}
    if name == "patient_fees.json":
        return {entry["region"]}
    if name == "provider_reimbursement.json":
        return {entry["care_region"]}
    if name == "referral_requirements.json":
        return set(entry["home_regions"])
    if name == "digital_entry_points.json":
        return set(entry["regions"])
    if name == "price_lists.json":  # a region invoices at its healthcare region's list
        return {r.county for r in load_regions().regions if r.price_list in entry["price_lists"]}
    return set()


def _in_force(entry: dict[str, Any], on: date) -> bool:
    start, end = date.fromisoformat(entry["valid_from"]), entry["valid_to"]
    return start <= on and (end is None or on < date.fromisoformat(end))


def _file(name: str, response: Response, on: date | None, region: str | None) -> ReferenceOut:
    catalogue = load_reference_data()
    raw = catalogue.files[name].model_dump(mode="json")
    entries = [
        e for e in raw["entries"]
        if (on is None or _in_force(e, on)) and (region is None or region in _regions_of(name, e))
    ]  # fmt: skip
    response.headers["ETag"] = f'"{catalogue.version}"'
    return ReferenceOut(
        version=catalogue.version, file=name, status=raw["status"], sources=raw["sources"],
        entries=entries,
    )  # fmt: skip


@router.get("/criteria-sets", response_model=ReferenceOut)
def criteria_sets(response: Response, on: On = None, region: RegionFilter = None) -> ReferenceOut:
    """Need-and-suitability criteria sets (C4): id, version, owning and adopting regions, the
    required criteria and the professions that may assess."""
    return _file("criteria_sets.json", response, on, region)


@router.get("/fee-schedules", response_model=ReferenceOut)
def fee_schedules(response: Response, on: On = None, region: RegionFilter = None) -> ReferenceOut:
    """Patient fees per region, care level, mode and profession (R13-R15)."""
    return _file("patient_fees.json", response, on, region)


@router.get("/price-lists", response_model=ReferenceOut)
def price_lists(response: Response, on: On = None, region: RegionFilter = None) -> ReferenceOut:
    """Out-of-region price lists per healthcare region (R11, R22); `region` = the lists a
    care region invoices at."""
    return _file("price_lists.json", response, on, region)


@router.get("/provider-reimbursement", response_model=ReferenceOut)
def provider_reimbursement(
    response: Response, on: On = None, region: RegionFilter = None
) -> ReferenceOut:
    """What a care region pays its contracted provider, where known (R12)."""
    return _file("provider_reimbursement.json", response, on, region)


@router.get("/referral-requirements", response_model=ReferenceOut)
def referral_requirements(
    response: Response, on: On = None, region: RegionFilter = None
) -> ReferenceOut:
    """Which home regions require a referral for which care (R8, R21)."""
    return _file("referral_requirements.json", response, on, region)


@router.get("/entry-points", response_model=ReferenceOut)
def entry_points(response: Response, on: On = None, region: RegionFilter = None) -> ReferenceOut:
    """Each region's own digital doors (R7)."""
    return _file("digital_entry_points.json", response, on, region)


@router.get("/regions")
def regions(response: Response) -> dict[str, Any]:
    """The 21 regions: län code, name, healthcare region, price list, municipalities."""
    catalogue = load_reference_data()
    response.headers["ETag"] = f'"{catalogue.version}"'
    return {"version": catalogue.version, **load_regions().model_dump(mode="json")}
