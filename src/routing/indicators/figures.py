"""The indicator formulas (docs/indicators.md), from tallies of one area and period to figures
that each carry their definition: numerator, denominator, period and source.

Why every figure carries its definition: the sources name the indicators but give no
formulas, so an answer without its definition cannot be compared with a region's own report.
Why tallies: the read model counts per contact; what is divided by what is decided here once,
for a region, a municipality and the nation alike, and tested with hand-worked numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from routing.reference.population import Denominator

VGR_2021 = (
    "Västra Götalandsregionen, 'Hur fungerar digitala vårdbesök?' (2021): out-of-region "
    "digital contacts per 1,000 inhabitants by municipality, cost per inhabitant and the "
    "regions' national total (2020), shares by profession"
)
SOS_2019 = (
    "Socialstyrelsen, 'Strategisk plan för att stödja en god och nära vård' (2019): "
    "indicator-based comparison of the entry paths private digital, regional digital and "
    "regional physical; share of patients given a medical assessment within three days, "
    "generally and after a digital visit"
)
GUARANTEE = "HSL 9 kap. 1 §, HSF 6 kap. 1 § 2 (vårdgaranti: medical assessment within 3 days)"
SCB = "SCB folkmängd 31 December (reference data population.json)"
OOD = (
    "completed distance contacts (chat, video, phone, async message) whose care region is not "
    "the patient's home region (R1, R2), counted on the contact's Swedish date"
)
FIGURES: dict[str, dict[str, str]] = {
    "out_of_region_digital_contacts": {
        "unit": "contacts", "numerator": OOD, "denominator": "none (a count)",
        "source": VGR_2021},
    "out_of_region_digital_per_1000": {
        "unit": "contacts per 1,000 inhabitants", "numerator": OOD,
        "denominator": "inhabitants of the area at the period's start / 1,000",
        "source": f"{VGR_2021}; {SCB}"},
    "out_of_region_digital_cost": {
        "unit": "SEK", "numerator": "sum of the invoiced amounts of those contacts for which "
        "the home region is liable (status home_region_liable, R8/R9)",
        "denominator": "none (a sum)", "source": VGR_2021},
    "cost_per_inhabitant": {
        "unit": "SEK per inhabitant", "numerator": "the out-of-region digital cost above",
        "denominator": "inhabitants of the area at the period's start", "source":
        f"{VGR_2021}; {SCB}"},
    "share_of_national_cost": {
        "unit": "%", "numerator": "the home region's out-of-region digital cost",
        "denominator": "the same cost summed over the 21 regions (asylum seekers, 99, "
        "apart)", "source": VGR_2021},
    "profession_share": {
        "unit": "%", "numerator": "out-of-region digital contacts by the profession group "
        "(doctor; physiotherapist; psychologist or psychotherapist; nurse; other)",
        "denominator": "all out-of-region digital contacts of the area", "source": VGR_2021},
    "mode_share": {
        "unit": "%", "numerator": "out-of-region digital contacts completed in the mode",
        "denominator": "all out-of-region digital contacts of the area", "source": VGR_2021},
    "contacts_by_entry_path": {
        "unit": "contacts", "numerator": "completed contacts (distance or physical) by entry "
        "path (provider ownership by distance or physical), in or out of the home region, "
        "and care level", "denominator": "none (a count); share = of all completed "
        "contacts of the area", "source": SOS_2019},
    "assessment_within_3_days": {
        "unit": "%", "numerator": "three-day assessment clocks met (medical assessment by "
        "licensed staff within 3 days of the request)", "denominator": "clocks met + "
        "breached + still open past their deadline on as_of (excluded and pending clocks "
        "are not measured), counted on the request's Swedish date",
        "source": f"{SOS_2019}; {GUARANTEE}"},
    "assessment_within_3_days_after_digital": {
        "unit": "%", "numerator": "as assessment_within_3_days, for clocks started by a "
        "request for a distance contact", "denominator": "as assessment_within_3_days, "
        "same clocks", "source": f"{SOS_2019}; {GUARANTEE}"},
}  # fmt: skip
MEASURED = ("met", "breached", "overdue")


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    """Inclusive."""

    def describe(self) -> str:
        return f"{self.start}..{self.end} inclusive, Swedish dates"


@dataclass
class Tallies:
    """What the read model counted for one area and period."""

    contacts: Counter[tuple[str, bool, str]] = field(default_factory=Counter)
    """(entry path, in region, care level) → completed contacts."""
    ood_contacts: int = 0
    ood_cost: int = 0
    ood_professions: Counter[str] = field(default_factory=Counter)
    ood_modes: Counter[str] = field(default_factory=Counter)
    assessments: Counter[tuple[str, bool, str]] = field(default_factory=Counter)
    """(entry path of the request, requested at a distance, outcome) → clocks; outcome is
    met, breached, overdue (open past its deadline), pending or excluded."""

    def __add__(self, other: Tallies) -> Tallies:
        return Tallies(
            self.contacts + other.contacts, self.ood_contacts + other.ood_contacts,
            self.ood_cost + other.ood_cost, self.ood_professions + other.ood_professions,
            self.ood_modes + other.ood_modes, self.assessments + other.assessments,
        )  # fmt: skip


@dataclass
class Figure:
    id: str
    value: float | int | None
    numerator: float | int | None
    denominator: float | int | None
    status: str = "ok"
    """ok | not_applicable (asylum seekers) | not_available (no population figure) |
    no_data (nothing to divide)."""
    group: str | None = None
    note: str | None = None
    definition: dict[str, str] = field(default_factory=dict)

    def out(self) -> dict[str, Any]:
        return asdict(self)


def _figure(id_: str, period: Period, **kw: Any) -> Figure:
    d = FIGURES[id_]
    definition = {
        "numerator": d["numerator"], "denominator": d["denominator"],
        "period": period.describe(), "unit": d["unit"], "source": d["source"],
    }  # fmt: skip
    return Figure(id_, definition=definition, **kw)


def _ratio(num: int, den: int, scale: float, digits: int) -> float | None:
    return round(num * scale / den, digits) if den else None


def _per_inhabitant(id_: str, period: Period, num: int, pop: Denominator, scale: float) -> Figure:
    if pop.inhabitants is None:
        return _figure(id_, period, value=None, numerator=num, denominator=None,
                       status=pop.status, note=pop.note)  # fmt: skip
    return _figure(id_, period, value=round(num * scale / pop.inhabitants, 6), numerator=num,
                   denominator=pop.inhabitants, note=pop.note)  # fmt: skip


def _shares(id_: str, period: Period, counts: Counter[str], total: int) -> list[Figure]:
    return [
        _figure(id_, period, group=g, value=_ratio(n, total, 100, 2), numerator=n,
                denominator=total)
        for g, n in sorted(counts.items())
    ]  # fmt: skip


def per_1000(t: Tallies, pop: Denominator, period: Period) -> Figure:
    return _per_inhabitant("out_of_region_digital_per_1000", period, t.ood_contacts, pop, 1000)


def _assessment(id_: str, period: Period, clocks: Counter[str]) -> Figure:
    measured = sum(clocks[k] for k in MEASURED)
    return _figure(
        id_, period, value=_ratio(clocks["met"], measured, 100, 2), numerator=clocks["met"],
        denominator=measured, status="ok" if measured else "no_data",
        note=f"not measured: {clocks['pending']} pending, {clocks['excluded']} excluded",
    )  # fmt: skip


def assessment_figures(t: Tallies, period: Period) -> list[Figure]:
    overall: Counter[str] = Counter()
    digital: Counter[str] = Counter()
    by_path: dict[str, Counter[str]] = {}
    for (path, is_digital, outcome), n in t.assessments.items():
        overall[outcome] += n
        if is_digital:
            digital[outcome] += n
        by_path.setdefault(path, Counter())[outcome] += n
    out = [_assessment("assessment_within_3_days", period, overall),
           _assessment("assessment_within_3_days_after_digital", period, digital)]  # fmt: skip
    for path, clocks in sorted(by_path.items()):
        f = _assessment("assessment_within_3_days", period, clocks)
        f.group = f"entry_path={path}"
        out.append(f)
    return out


def region_figures(
    t: Tallies, pop: Denominator, national_cost: int, period: Period
) -> list[Figure]:
    """Every figure of one home region (or municipality: pass its tallies and population)."""
    all_contacts = sum(t.contacts.values())
    figures = [
        _figure("out_of_region_digital_contacts", period, value=t.ood_contacts,
                numerator=t.ood_contacts, denominator=None),
        per_1000(t, pop, period),
        _figure("out_of_region_digital_cost", period, value=t.ood_cost, numerator=t.ood_cost,
                denominator=None),
        _per_inhabitant("cost_per_inhabitant", period, t.ood_cost, pop, 1),
        _figure("share_of_national_cost", period,
                value=_ratio(t.ood_cost, national_cost, 100, 2), numerator=t.ood_cost,
                denominator=national_cost, status="ok" if national_cost else "no_data"),
        *_shares("profession_share", period, t.ood_professions, t.ood_contacts),
        *_shares("mode_share", period, t.ood_modes, t.ood_contacts),
    ]  # fmt: skip
    for (path, in_region, level), n in sorted(t.contacts.items()):
        where = "in_region" if in_region else "out_of_region"
        figures.append(_figure(
            "contacts_by_entry_path", period, value=n, numerator=n, denominator=all_contacts,
            group=f"{path}/{where}/{level}",
            note=f"{_ratio(n, all_contacts, 100, 2)} % of all completed contacts",
        ))  # fmt: skip
    return figures + assessment_figures(t, period)


def national_figures(
    regions: dict[str, Tallies], national_pop: Denominator, period: Period
) -> list[Figure]:
    """The same figures summed over the 21 regions (asylum seekers, 99, are not a region's
    population nor a region's cost: they stay out of the sum)."""
    total = sum((t for r, t in regions.items() if r != "99"), Tallies())
    return region_figures(total, national_pop, total.ood_cost, period)
