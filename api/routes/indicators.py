"""Follow-up indicators of digital care per home region, municipality and nation, for a month
or any span of days, each figure with its definition (docs/indicators.md).

Reads the indicators read model (eventually consistent with the store) and the population
and provider reference data. Region finance reads its own region; the national view, which
lists every region, is for auditors. Every read is recorded in the access trail.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from api.auth import READS_FINANCE, Reader, forbidden
from api.deps import read_models
from api.params import Day, KnownRegion, RegionSchema
from api.period import PeriodText, parse_period
from projections import indicators as q
from routing.guarantee.days import today
from routing.indicators import Period, Tallies, national_figures, region_figures
from routing.indicators.figures import per_1000
from routing.reference.population import NATIONAL, load_population
from routing.reference.providers import load_providers
from routing.reference.regions import load_regions

router = APIRouter(
    prefix="/indicators",
    tags=["indicators"],
    dependencies=[READS_FINANCE],
)
HomeRegion = Annotated[
    str,
    Path(pattern=r"^\d{2}$", description="Home county (län code), e.g. 14"),
    KnownRegion,
    RegionSchema,
]
AsOf = Annotated[
    Day | None,
    Query(description="Day on which open three-day clocks are judged (default: today)."),
]


class FigureOut(BaseModel):
    id: str
    value: float | int | None
    numerator: float | int | None
    denominator: float | int | None
    status: str
    group: str | None
    note: str | None
    definition: dict[str, str]


class IndicatorsOut(BaseModel):
    area: str
    name: str
    period: dict[str, str]
    as_of: str
    population: dict[str, Any]
    reference: dict[str, str]
    figures: list[FigureOut]


class NationalOut(IndicatorsOut):
    regions: list[IndicatorsOut]


def _period(text: str) -> Period:
    """The Swedish days ``period`` names (api/period.py), inclusive; a range given backwards
    is kept as given: no day lies in it, so every count is 0."""
    days = parse_period(text)
    return Period(days.first, days.last)


def _out(area: str, name: str, period: Period, day: date, figures: list[Any],
         population: dict[str, Any]) -> IndicatorsOut:  # fmt: skip
    return IndicatorsOut(
        area=area, name=name, as_of=day.isoformat(), population=population,
        period={"from": period.start.isoformat(), "to": period.end.isoformat()},
        reference={"population": load_population().version,
                   "providers": load_providers().version},
        figures=[FigureOut(**f.out()) for f in figures],
    )  # fmt: skip


def _region_name(code: str) -> str:
    if code == "99":
        return "asylum seekers (no home region)"
    return load_regions().by_county(code).name


def _tallies(request: Request, period: Period, day: date, **kw: Any) -> dict[str, Tallies]:
    with read_models(request).transaction() as cur:
        return q.tallies(cur, period.start, period.end, day, **kw)


@router.get("/regions/{home_region}", response_model=IndicatorsOut)
def region_indicators(
    request: Request, reader: Reader, home_region: HomeRegion, period: PeriodText,
    as_of: AsOf = None,
) -> IndicatorsOut:  # fmt: skip
    """Every indicator of one home region for a period (a month or a range of days):
    out-of-region digital contacts (count, per 1,000 inhabitants, cost, cost per inhabitant,
    share of the national cost), their shares by profession and mode, contacts by entry path
    and care level, and the share given a medical assessment within three days (overall,
    after a digital contact, by entry path). Asylum seekers (99): per-inhabitant figures not
    applicable."""
    reader.check(home_region)
    days, day = _period(period), as_of or today()
    all_regions = _tallies(request, days, day)
    national_cost = sum(t.ood_cost for r, t in all_regions.items() if r != "99")
    pop = load_population().denominator(home_region, days.start)
    figures = region_figures(all_regions.get(home_region, Tallies()), pop, national_cost, days)
    return _out(home_region, _region_name(home_region), days, day, figures, pop.describe())


@router.get("/regions/{home_region}/municipalities", response_model=list[IndicatorsOut])
def municipality_indicators(
    request: Request, reader: Reader, home_region: HomeRegion, period: PeriodText,
    as_of: AsOf = None,
) -> list[IndicatorsOut]:  # fmt: skip
    """Out-of-region digital contacts per 1,000 inhabitants by the patients' municipality
    (Västra Götalandsregionen reports it so), for every municipality with contacts."""
    reader.check(home_region)
    days, day = _period(period), as_of or today()
    rows = _tallies(request, days, day, by="home_municipality")
    names = {}
    if home_region != "99":
        names = {m.code: m.name for m in load_regions().by_county(home_region).municipalities}
    out = []
    for code, t in sorted(rows.items()):
        if code[:2] != home_region:
            continue
        pop = load_population().denominator(code, days.start)
        figures = [region_figures(t, pop, 0, days)[0], per_1000(t, pop, days)]
        out.append(_out(code, names.get(code, code), days, day, figures, pop.describe()))
    return out


@router.get("/national", response_model=NationalOut)
def national_indicators(
    request: Request, reader: Reader, period: PeriodText, as_of: AsOf = None,
) -> NationalOut:  # fmt: skip
    """The same figures summed over the 21 regions, and each region's own (asylum seekers
    listed apart, outside the sums). Auditors: region finance reads its own region."""
    if reader.own_region is not None:
        raise forbidden("the national view lists every region: auditors only")
    days, day = _period(period), as_of or today()
    rows = _tallies(request, days, day)
    population = load_population()
    national_pop = population.denominator(NATIONAL, days.start)
    total = national_figures(rows, national_pop, days)
    national_cost = sum(t.ood_cost for r, t in rows.items() if r != "99")
    regions = []
    for code in sorted(set(rows) | set(load_regions().counties)):
        pop = population.denominator(code, days.start)
        figures = region_figures(rows.get(code, Tallies()), pop, national_cost, days)
        regions.append(_out(code, _region_name(code), days, day, figures, pop.describe()))
    head = _out(NATIONAL, "Sweden (21 regions)", days, day, total, national_pop.describe())
    return NationalOut(**head.model_dump(), regions=regions)
