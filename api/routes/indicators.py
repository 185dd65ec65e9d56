"""Follow-up indicators of digital care per home region, municipality and nation, for a month
or any span of days, each figure with its definition (docs/indicators.md).

Reads the indicators read model (eventually consistent with the store) and the population
and provider reference data. Region finance reads its own region; the national view, which
lists every region, is for auditors. Every read is recorded in the access trail.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from api.auth import Caller, check_region, forbidden, require
from api.params import Day, KnownRegion, RegionSchema
from api.routes.summaries import read_models
from projections import indicators as q
from routing.access import Role, readable_regions
from routing.guarantee.days import today
from routing.indicators import Period, Tallies, national_figures, region_figures
from routing.indicators.figures import per_1000
from routing.kernel.calendar import MONTH_PATTERN
from routing.reference.population import NATIONAL, load_population
from routing.reference.providers import load_providers
from routing.reference.regions import load_regions

router = APIRouter(
    prefix="/indicators",
    tags=["indicators"],
    dependencies=[Depends(require(Role.finance, Role.auditor, trail="finance"))],
)
HomeRegion = Annotated[
    str,
    Path(pattern=r"^\d{2}$", description="Home county (län code), e.g. 14"),
    KnownRegion,
    RegionSchema,
]
Month = Annotated[
    str | None,
    Query(pattern=MONTH_PATTERN, description="YYYY-MM (or give from and to)"),
]
From = Annotated[Day | None, Query(alias="from", description="First day (Swedish date)")]
To = Annotated[Day | None, Query(alias="to", description="Last day, inclusive")]
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


def _invalid(field: str, message: str) -> RequestValidationError:
    error = {"loc": ("query", field), "msg": message, "type": "value_error"}
    return RequestValidationError([error])


def _period(month: str | None, start: date | None, end: date | None) -> Period:
    """A month, or from..to inclusive: exactly one of the two."""
    if month is not None:
        if start is not None or end is not None:
            raise _invalid("month", "give either month or from and to, not both")
        y, m = int(month[:4]), int(month[5:])
        if not 1900 <= y <= 9998:
            raise _invalid("month", "the year must lie between 1900 and 9998")
        return Period(date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1]))
    if start is None or end is None:
        raise _invalid("from" if start is None else "to", "give month, or both from and to")
    if end < start:
        raise _invalid("to", "to is before from")
    if start.year < 1900 or end.year > 9998:  # the population lookup needs the year before
        raise _invalid("from", "dates must lie between 1900 and 9998")
    return Period(start, end)


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
    request: Request, caller: Caller, home_region: HomeRegion, month: Month = None,
    start: From = None, end: To = None, as_of: AsOf = None,
) -> IndicatorsOut:  # fmt: skip
    """Every indicator of one home region for a month or from..to: out-of-region digital
    contacts (count, per 1,000 inhabitants, cost, cost per inhabitant, share of the national
    cost), their shares by profession and mode, contacts by entry path and care level, and
    the share given a medical assessment within three days (overall, after a digital
    contact, by entry path). Asylum seekers (99): per-inhabitant figures not applicable."""
    check_region(caller, home_region)
    period, day = _period(month, start, end), as_of or today()
    all_regions = _tallies(request, period, day)
    national_cost = sum(t.ood_cost for r, t in all_regions.items() if r != "99")
    pop = load_population().denominator(home_region, period.start)
    figures = region_figures(all_regions.get(home_region, Tallies()), pop, national_cost, period)
    return _out(home_region, _region_name(home_region), period, day, figures, pop.describe())


@router.get("/regions/{home_region}/municipalities", response_model=list[IndicatorsOut])
def municipality_indicators(
    request: Request, caller: Caller, home_region: HomeRegion, month: Month = None,
    start: From = None, end: To = None, as_of: AsOf = None,
) -> list[IndicatorsOut]:  # fmt: skip
    """Out-of-region digital contacts per 1,000 inhabitants by the patients' municipality
    (Västra Götalandsregionen reports it so), for every municipality with contacts."""
    check_region(caller, home_region)
    period, day = _period(month, start, end), as_of or today()
    rows = _tallies(request, period, day, by="home_municipality")
    names = {}
    if home_region != "99":
        names = {m.code: m.name for m in load_regions().by_county(home_region).municipalities}
    out = []
    for code, t in sorted(rows.items()):
        if code[:2] != home_region:
            continue
        pop = load_population().denominator(code, period.start)
        figures = [region_figures(t, pop, 0, period)[0], per_1000(t, pop, period)]
        out.append(_out(code, names.get(code, code), period, day, figures, pop.describe()))
    return out


@router.get("/national", response_model=NationalOut)
def national_indicators(
    request: Request, caller: Caller, month: Month = None, start: From = None,
    end: To = None, as_of: AsOf = None,
) -> NationalOut:  # fmt: skip
    """The same figures summed over the 21 regions, and each region's own (asylum seekers
    listed apart, outside the sums). Auditors: region finance reads its own region."""
    if readable_regions(caller) is not None:
        raise forbidden("the national view lists every region: auditors only")
    period, day = _period(month, start, end), as_of or today()
    rows = _tallies(request, period, day)
    population = load_population()
    national_pop = population.denominator(NATIONAL, period.start)
    total = national_figures(rows, national_pop, period)
    national_cost = sum(t.ood_cost for r, t in rows.items() if r != "99")
    regions = []
    for code in sorted(set(rows) | set(load_regions().counties)):
        pop = population.denominator(code, period.start)
        figures = region_figures(rows.get(code, Tallies()), pop, national_cost, period)
        regions.append(_out(code, _region_name(code), period, day, figures, pop.describe()))
    head = _out(NATIONAL, "Sweden (21 regions)", period, day, total, national_pop.describe())
    return NationalOut(**head.model_dump(), regions=regions)
