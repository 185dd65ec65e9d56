"""The indicator formulas against figures worked by hand from the sources, the entry paths, and
the population and provider reference data (asylum seekers, carried-forward figures, bad files).

Västra Götalandsregionen's 'Hur fungerar digitala vårdbesök?' (2021) reports for 2020: 158 MSEK
of out-of-region digital contacts, about 92 kr per inhabitant, of the regions' 917 MSEK, and
the professions 67 / 8 / 5 / 19 / 2 %. A data set shaped by those totals and shares must give
those figures back with SCB's population of VGR at the start of 2020.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from routing.episodes.vocabulary import ContactMode
from routing.indicators import (
    EntryPath,
    Period,
    Tallies,
    entry_path,
    national_figures,
    region_figures,
)
from routing.reference.population import load_population, parse_population
from routing.reference.providers import Ownership, load_providers, parse_providers
from routing.reference.tariffs import CatalogueDataError

YEAR_2020 = Period(date(2020, 1, 1), date(2020, 12, 31))
SHARES_2020 = {"doctor": 67, "physiotherapist": 8, "psychologist_or_psychotherapist": 5,
               "nurse": 19, "other": 2}  # fmt: skip


def _vgr_2020() -> Tallies:
    """390,000 contacts split by the published shares (which sum to 101 %), costing 158 MSEK."""
    counts = Counter({g: round(390_000 * s / 101) for g, s in SHARES_2020.items()})
    total = sum(counts.values())
    return Tallies(ood_contacts=total, ood_cost=158_000_000, ood_professions=counts,
                   ood_modes=Counter({"chat": total}))  # fmt: skip


def _by_id(figures: list, id_: str, group: str | None = None):  # type: ignore[no-untyped-def]
    return next(f for f in figures if f.id == id_ and f.group == group)


def test_vgr_2020_cost_per_inhabitant_share_and_professions() -> None:
    pop = load_population().denominator("14", YEAR_2020.start)
    figures = region_figures(_vgr_2020(), pop, 917_000_000, YEAR_2020)
    per_inhabitant = _by_id(figures, "cost_per_inhabitant")
    assert per_inhabitant.value == pytest.approx(92, abs=0.5)
    assert per_inhabitant.denominator == 1_725_881  # SCB, VGR on 31 December 2019
    share = _by_id(figures, "share_of_national_cost")
    assert share.value == pytest.approx(17.2, abs=0.05)
    for group, published in SHARES_2020.items():
        assert _by_id(figures, "profession_share", group).value == pytest.approx(published, abs=1)
    for f in figures:
        assert set(f.definition) == {"numerator", "denominator", "period", "unit", "source"}
        assert f.definition["period"] == "2020-01-01..2020-12-31 inclusive, Swedish dates"


def test_the_year_end_figure_would_not_reproduce_the_published_92_kr() -> None:
    """Why the denominator is the population at the period's start: VGR on 31 December 2020
    (1,734,443) gives 91.1 kr, outside 92 ± 0.5."""
    pop = load_population().denominator("14", date(2021, 1, 1))
    assert pop.inhabitants == 1_734_443
    figure = _by_id(region_figures(_vgr_2020(), pop, 917_000_000, YEAR_2020),
                    "cost_per_inhabitant")  # fmt: skip
    assert figure.value == pytest.approx(91.09, abs=0.01)


def test_national_view_sums_the_regions_and_leaves_asylum_seekers_apart() -> None:
    rest = Tallies(ood_contacts=1_800_000, ood_cost=759_000_000)
    asylum = Tallies(ood_contacts=10, ood_cost=5_000)
    pop = load_population().denominator("SE", YEAR_2020.start)
    figures = national_figures({"14": _vgr_2020(), "01": rest, "99": asylum}, pop, YEAR_2020)
    assert _by_id(figures, "out_of_region_digital_cost").value == 917_000_000
    # 917,000,000 SEK / 10,327,589 inhabitants (SCB, Sweden on 31 December 2019)
    assert _by_id(figures, "cost_per_inhabitant").value == pytest.approx(88.79, abs=0.01)
    assert _by_id(figures, "share_of_national_cost").value == 100.0


def test_asylum_seekers_have_no_population_to_divide_by() -> None:
    pop = load_population().denominator("99", date(2020, 1, 1))
    assert (pop.status, pop.inhabitants) == ("not_applicable", None)
    figures = region_figures(Tallies(ood_contacts=3, ood_cost=1500), pop, 3000, YEAR_2020)
    for id_ in ("out_of_region_digital_per_1000", "cost_per_inhabitant"):
        f = _by_id(figures, id_)
        assert (f.value, f.status, f.numerator) == (None, "not_applicable", f.numerator)
    assert _by_id(figures, "share_of_national_cost").value == 50.0


def test_per_1000_small_case_by_hand() -> None:
    """3 contacts from Göteborg in March 2026; SCB's Göteborg on 31 December 2024 (608,993),
    carried forward because 2025's figure is not in the file: 3 * 1000 / 608,993."""
    pop = load_population().denominator("1480", date(2026, 3, 1))
    assert (pop.inhabitants, pop.carried_forward) == (608_993, True)
    figures = region_figures(
        Tallies(ood_contacts=3), pop, 0, Period(date(2026, 3, 1), date(2026, 3, 31))
    )
    f = _by_id(figures, "out_of_region_digital_per_1000")
    assert f.value == pytest.approx(0.004926, abs=1e-6)
    assert "carried forward" in (f.note or "")


def test_a_municipality_without_a_figure_is_not_available() -> None:
    pop = load_population().denominator("1473", date(2026, 3, 1))  # Töreboda: not in the file
    assert (pop.status, pop.inhabitants) == ("not_available", None)


def test_assessment_shares_overall_after_digital_and_by_path() -> None:
    t = Tallies(assessments=Counter({
        ("regional_digital", True, "met"): 3, ("regional_digital", True, "overdue"): 1,
        ("regional_physical", False, "met"): 1, ("regional_physical", False, "breached"): 3,
        ("regional_digital", True, "pending"): 5, ("private_digital", True, "excluded"): 7,
    }))  # fmt: skip
    figures = region_figures(t, load_population().denominator("14", date(2026, 1, 1)), 0,
                             YEAR_2020)  # fmt: skip
    overall = _by_id(figures, "assessment_within_3_days")
    assert (overall.numerator, overall.denominator, overall.value) == (4, 8, 50.0)
    digital = _by_id(figures, "assessment_within_3_days_after_digital")
    assert (digital.numerator, digital.denominator, digital.value) == (3, 4, 75.0)
    physical = _by_id(figures, "assessment_within_3_days", "entry_path=regional_physical")
    assert physical.value == 25.0
    private = _by_id(figures, "assessment_within_3_days", "entry_path=private_digital")
    assert (private.value, private.status) == (None, "no_data")


@pytest.mark.parametrize(
    ("ownership", "mode", "path"),
    [
        (Ownership.private, ContactMode.chat, EntryPath.private_digital),
        (Ownership.private, ContactMode.phone, EntryPath.private_digital),
        (Ownership.region, ContactMode.video, EntryPath.regional_digital),
        (Ownership.region, ContactMode.physical, EntryPath.regional_physical),
        (Ownership.private, ContactMode.physical, EntryPath.private_physical),
        (None, ContactMode.chat, EntryPath.unknown),
    ],
)
def test_entry_paths(ownership: Ownership | None, mode: ContactMode, path: EntryPath) -> None:
    assert entry_path(ownership, mode) is path


def test_providers_reference_data() -> None:
    providers = load_providers()
    kry = providers.provider("SE5569990001-KRY", date(2026, 3, 1))
    assert kry is not None
    assert (kry.ownership, kry.contract_regions) == (Ownership.private, ("04",))
    region = providers.provider("SE2321000014-RG", date(2026, 3, 1))
    assert region is not None
    assert region.ownership is Ownership.region
    # An HSA-id's prefix names its issuer, not its owner: an unlisted id is unknown.
    assert providers.provider("SE2321000032-000001", date(2026, 3, 1)) is None


def _shipped(name: str) -> dict:  # type: ignore[type-arg]
    path = Path(__file__).parents[2] / "src/routing/reference/data" / name
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_a_population_figure_for_asylum_seekers_is_refused() -> None:
    raw = _shipped("population.json")
    raw["figures"].append({"area": "99", "as_of": "2020-12-31", "inhabitants": 1000,
                           "source": "x", "status": "sourced"})  # fmt: skip
    with pytest.raises(CatalogueDataError, match=r"figures\.\d+ \(area 99, as_of 2020-12-31\)"):
        parse_population(json.dumps(raw))


def test_population_files_are_checked() -> None:
    raw = _shipped("population.json")
    raw["figures"].append(dict(raw["figures"][0]))
    with pytest.raises(CatalogueDataError, match="two figures for the same area and date"):
        parse_population(json.dumps(raw))
    raw = _shipped("population.json")
    raw["figures"][0]["as_of"] = "2020-06-30"
    with pytest.raises(CatalogueDataError, match="31 December"):
        parse_population(json.dumps(raw))


def test_provider_files_are_checked() -> None:
    raw = _shipped("providers.json")
    raw["entries"][0]["ownership"] = "municipal"
    with pytest.raises(CatalogueDataError, match=r"entries\.0\.ownership"):
        parse_providers(json.dumps(raw))
    raw = _shipped("providers.json")
    raw["entries"][0]["contract_regions"] = ["42"]
    with pytest.raises(CatalogueDataError, match="42"):
        parse_providers(json.dumps(raw))
