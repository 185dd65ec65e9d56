"""The regions reference file: complete, consistent with SCB's region codes, loud when broken."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from routing.episodes.vocabulary import COUNTY_CODES
from routing.reference.regions import (
    HealthcareRegion,
    Regions,
    RegionsDataError,
    UnknownRegion,
    load_regions,
)

DATA = Path(__file__).parents[2] / "src/routing/reference/data/regions.json"


@pytest.fixture(scope="module")
def regions() -> Regions:
    return load_regions()


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "regions.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_lists_the_21_regions_once_each(regions: Regions) -> None:
    codes = [r.county for r in regions.regions]
    assert len(codes) == 21
    assert len(set(codes)) == 21
    assert set(codes) == COUNTY_CODES
    assert len({r.iso_3166_2 for r in regions.regions}) == 21
    assert {"02", "11", "15", "16"}.isdisjoint(codes)


@pytest.mark.parametrize(
    ("county", "name", "iso", "healthcare_region", "price_list"),
    [
        ("01", "Region Stockholm", "SE-AB", HealthcareRegion.stockholm_gotland, 3),
        ("03", "Region Uppsala", "SE-C", HealthcareRegion.mellansverige, 2),
        ("04", "Region Sörmland", "SE-D", HealthcareRegion.mellansverige, 2),
        ("06", "Region Jönköpings län", "SE-F", HealthcareRegion.sydostra, 4),
        ("07", "Region Kronoberg", "SE-G", HealthcareRegion.sodra, 6),
        ("09", "Region Gotland", "SE-I", HealthcareRegion.stockholm_gotland, 3),
        ("12", "Region Skåne", "SE-M", HealthcareRegion.sodra, 6),
        ("14", "Västra Götalandsregionen", "SE-O", HealthcareRegion.vastra, 5),
        ("23", "Region Jämtland Härjedalen", "SE-Z", HealthcareRegion.norra, 1),
        ("25", "Region Norrbotten", "SE-BD", HealthcareRegion.norra, 1),
    ],
)
def test_region_facts_follow_reference_section_3(
    regions: Regions,
    county: str,
    name: str,
    iso: str,
    healthcare_region: HealthcareRegion,
    price_list: int,
) -> None:
    region = regions.by_county(county)
    assert (region.name, region.iso_3166_2) == (name, iso)
    assert region.healthcare_region is healthcare_region
    assert region.price_list == price_list
    assert regions.price_list(county, region.seat) == price_list


@pytest.mark.parametrize(
    ("municipality", "expected", "price_list"),
    [
        ("1380", HealthcareRegion.sodra, 6),  # Halmstad
        ("1315", HealthcareRegion.sodra, 6),  # Hylte
        ("1381", HealthcareRegion.sodra, 6),  # Laholm
        ("1384", HealthcareRegion.vastra, 5),  # Kungsbacka
        ("1383", HealthcareRegion.vastra, 5),  # Varberg
        ("1382", HealthcareRegion.vastra, 5),  # Falkenberg
    ],
)
def test_halland_is_split_by_municipality(
    regions: Regions, municipality: str, expected: HealthcareRegion, price_list: int
) -> None:
    assert regions.by_county("13").split
    assert regions.healthcare_region("13", municipality) is expected
    assert regions.price_list("13", municipality) == price_list


def test_lookups_refuse_what_they_cannot_place(regions: Regions) -> None:
    with pytest.raises(UnknownRegion, match="'02'"):
        regions.by_county("02")
    with pytest.raises(UnknownRegion, match="does not lie in county 14"):
        regions.healthcare_region("14", "0180")
    with pytest.raises(UnknownRegion, match="split"):
        regions.healthcare_region("13", "1399")
    # Unsplit counties list only some municipalities; an unlisted one still has a region.
    assert regions.healthcare_region("14", "1463") is HealthcareRegion.vastra


def test_residence_cities_and_municipalities(regions: Regions) -> None:
    for county, seat in [("01", "0180"), ("14", "1480"), ("12", "1280"), ("03", "0380")]:
        region = regions.by_county(county)
        assert region.seat == seat
        assert seat in {m.code for m in region.municipalities}
    for region in regions.regions:
        assert all(m.code.startswith(region.county) for m in region.municipalities)
    assert len(regions.by_county("01").municipalities) > 5
    assert {m.code for m in regions.by_county("13").municipalities} == {
        "1380", "1315", "1381", "1384", "1383", "1382",
    }  # fmt: skip


def test_population_weights_are_approximate_and_marked(regions: Regions) -> None:
    weights = regions.population_weights()
    assert set(weights) == COUNTY_CODES
    assert 10_000_000 < sum(weights.values()) < 11_000_000
    assert max(weights, key=lambda c: weights[c]) == "01"
    assert min(weights, key=lambda c: weights[c]) == "09"
    assert "approximate" in json.dumps(regions.status)
    assert "illustrative" in regions.status
    assert regions.sources


def test_default_file_is_cached(regions: Regions) -> None:
    assert load_regions() is regions
    assert load_regions(DATA) == regions


def test_broken_entry_names_file_entry_and_field(tmp_path: Path, raw: dict[str, Any]) -> None:
    index = next(i for i, r in enumerate(raw["regions"]) if r["county"] == "13")
    raw["regions"][index]["iso_3166_2"] = "Halland"
    path = _write(tmp_path, raw)
    with pytest.raises(RegionsDataError) as err:
        load_regions(path)
    message = str(err.value)
    assert str(path) in message
    assert f"regions[{index}]" in message
    assert "county 13, Region Halland" in message
    assert "iso_3166_2" in message


def test_split_county_without_municipal_regions_is_refused(
    tmp_path: Path, raw: dict[str, Any]
) -> None:
    halland = next(r for r in raw["regions"] if r["county"] == "13")
    del halland["municipalities"][3]["healthcare_region"]  # Kungsbacka
    with pytest.raises(RegionsDataError, match=r"Region Halland.*1384 needs a healthcare_region"):
        load_regions(_write(tmp_path, raw))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["regions"].pop(), "missing 25"),
        (lambda d: d["regions"][0].update(price_list=5), "price_list 5"),
        (lambda d: d["regions"][0].update(population=-1), r"regions\[0\].*population"),
        (lambda d: d["regions"][0]["municipalities"].append({"code": "1480", "name": "Göteborg"}),
         "1480 does not lie in county 01"),
        (lambda d: d["regions"][1].update(healthcare_region="mellan"), "healthcare_region"),
        (lambda d: d["regions"][2].update(extra="x"), r"regions\[2\].*extra"),
    ],
)  # fmt: skip
def test_inconsistent_files_are_refused(
    tmp_path: Path, raw: dict[str, Any], mutate: Any, expected: str
) -> None:
    mutate(raw)
    with pytest.raises(RegionsDataError, match=expected):
        load_regions(_write(tmp_path, raw))


def test_invalid_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "regions.json"
    path.write_text('{\n  "regions": [,]\n}', encoding="utf-8")
    with pytest.raises(RegionsDataError, match=r"regions\.json: not valid JSON \(line 2"):
        load_regions(path)
