# Over 300 lines because seed money flows and validity bounds are checked case by case.
"""The reference catalogue: seed-004 money flows, validity boundaries, fallbacks, loud errors."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from routing.episodes.vocabulary import COUNTY_CODES, CareLevel, ContactMode, Profession
from routing.reference import (
    Catalogue,
    CatalogueDataError,
    NoFeeSchedule,
    PriceCategory,
    load_catalogue,
    load_regions,
)
from routing.reference.catalogue import FILE_NAMES

DATA = Path(__file__).parents[2] / "src/routing/reference/data"
PRIMARY = CareLevel.primary
SPECIALISED = CareLevel.specialised_outpatient
DOCTOR = PriceCategory.doctor
PSYCH = PriceCategory.psychologist_group
OTHER = PriceCategory.other_staff


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    for name in FILE_NAMES:
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def _edit(directory: Path, name: str, change: Callable[[Any], None]) -> None:
    path = directory / name
    raw = json.loads(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(json.dumps(raw, ensure_ascii=False, indent=1), encoding="utf-8")


def _error(directory: Path) -> str:
    with pytest.raises(CatalogueDataError) as exc:
        load_catalogue(directory)
    return str(exc.value)


# --- seed 004: VGR resident, digital provider contracted by Sörmland ----------------------


def test_seed_004_doctor_flow(cat: Catalogue) -> None:
    on = date(2022, 3, 15)
    regions = load_regions()
    price_list = regions.price_list("04", "0480")
    assert price_list == 2  # Mellansveriges prislista
    category = cat.price_category(Profession.doctor)
    price = cat.price(price_list, PRIMARY, ContactMode.chat, category, on)
    assert price is not None
    assert (price.amount, price.status.value) == (500, "sourced")
    assert price.origin.startswith("price_lists.json entries[")
    paid = cat.reimbursement("04", category, ContactMode.chat, on)
    assert paid is not None
    assert (paid.amount, paid.status.value) == (460, "sourced")
    assert "VGR Hur fungerar digitala vårdbesök?" in paid.source
    fee = cat.patient_fee("04", category, ContactMode.chat, PRIMARY, on)
    assert (fee.amount, fee.is_default, fee.schedule) == (100, False, "04")
    assert "VGR Hur fungerar digitala vårdbesök?" in fee.source


def test_seed_004_physiotherapist_flow(cat: Catalogue) -> None:
    on = date(2022, 3, 15)
    category = cat.price_category(Profession.physiotherapist)
    assert category is OTHER
    price = cat.price(2, PRIMARY, ContactMode.video, category, on)
    paid = cat.reimbursement("04", category, ContactMode.video, on)
    fee = cat.patient_fee("04", category, ContactMode.video, PRIMARY, on)
    assert price is not None
    assert paid is not None
    assert (price.amount, paid.amount, fee.amount) == (275, 260, 0)
    assert fee.status.value == "sourced"
    assert not fee.is_default


def test_psychologist_group_price_and_sormland_fee(cat: Catalogue) -> None:
    on = date(2023, 1, 10)
    price = cat.price(2, PRIMARY, ContactMode.phone, PSYCH, on)
    assert price is not None
    assert price.amount == 425
    assert cat.patient_fee("04", PSYCH, ContactMode.phone, PRIMARY, on).amount == 100


@pytest.mark.parametrize("price_list", [1, 2, 3, 4, 5, 6])
def test_digital_primary_prices_are_national(cat: Catalogue, price_list: int) -> None:
    on = date(2024, 6, 1)
    amounts = [
        cat.price(price_list, PRIMARY, ContactMode.chat, c, on) for c in (DOCTOR, PSYCH, OTHER)
    ]
    assert [a.amount if a else None for a in amounts] == [500, 425, 275]


@pytest.mark.parametrize(
    ("profession", "category"),
    [
        (Profession.doctor, DOCTOR),
        (Profession.psychologist, PSYCH),
        (Profession.psychotherapist, PSYCH),
        (Profession.counsellor, PSYCH),
        (Profession.nurse, OTHER),
        (Profession.physiotherapist, OTHER),
        (Profession.other_licensed, OTHER),
        (Profession.assistant_nurse, OTHER),
    ],
)
def test_price_category(cat: Catalogue, profession: Profession, category: PriceCategory) -> None:
    assert cat.price_category(profession) is category


def test_vgr_fees(cat: Catalogue) -> None:
    before = date(2024, 3, 31)
    after = date(2024, 4, 1)  # 80 % of the physical fee for chat and phone from here
    for mode in (ContactMode.chat, ContactMode.phone, ContactMode.video):
        fee = cat.patient_fee("14", DOCTOR, mode, PRIMARY, before)
        assert (fee.amount, fee.status.value, fee.is_default) == (100, "sourced", False)
    physical = cat.patient_fee("14", DOCTOR, ContactMode.physical, PRIMARY, after)
    chat = cat.patient_fee("14", DOCTOR, ContactMode.chat, PRIMARY, after)
    phone = cat.patient_fee("14", OTHER, ContactMode.phone, PRIMARY, after)
    video = cat.patient_fee("14", DOCTOR, ContactMode.video, PRIMARY, after)
    assert chat.amount == physical.amount * 80 // 100 == 160
    assert chat.mode_override
    assert phone.amount == 80
    assert video.amount == physical.amount
    assert not video.mode_override
    assert "80 %" in chat.source


def test_jonkoping_fee_regardless_of_profession_and_level(cat: Catalogue) -> None:
    on = date(2022, 1, 1)
    for level in (PRIMARY, SPECIALISED):
        for category in PriceCategory:
            fee = cat.patient_fee("06", category, ContactMode.async_message, level, on)
            assert (fee.amount, fee.schedule, fee.status.value) == (100, "06", "sourced")
    assert cat.patient_fee("06", DOCTOR, ContactMode.chat, PRIMARY, date(2021, 12, 31)).is_default


# --- validity boundaries -------------------------------------------------------------------


def test_2019_switch_from_650_to_500(cat: Catalogue) -> None:
    last_day = cat.price(4, PRIMARY, ContactMode.video, DOCTOR, date(2019, 5, 31))
    first_day = cat.price(4, PRIMARY, ContactMode.video, DOCTOR, date(2019, 6, 1))
    assert last_day is not None
    assert first_day is not None
    assert (last_day.amount, first_day.amount) == (650, 500)
    assert last_day.valid_to == first_day.valid_from == date(2019, 6, 1)
    other = cat.price(4, PRIMARY, ContactMode.video, OTHER, date(2019, 5, 31))
    assert other is not None
    assert other.amount == 300
    # SOU 2021:59: "En digital läkarkontakt ersattes till en början med 2 000 kronor per besök"
    first = cat.price(4, PRIMARY, ContactMode.video, DOCTOR, date(2016, 1, 1))
    assert first is not None
    assert first.amount == 2000


def test_stockholm_physical_prices(cat: Catalogue) -> None:
    y2023 = cat.price(3, PRIMARY, ContactMode.physical, DOCTOR, date(2023, 12, 31))
    y2024 = cat.price(3, PRIMARY, ContactMode.physical, DOCTOR, date(2024, 1, 1))
    staff = cat.price(3, PRIMARY, ContactMode.physical, OTHER, date(2023, 6, 1))
    assert y2023 is not None
    assert y2024 is not None
    assert staff is not None
    assert (y2023.amount, y2024.amount, staff.amount) == (1975, 2093, 878)
    assert y2023.unconfirmed == ()
    assert "valid_from" in y2024.unconfirmed  # the year of 2 093 is not confirmed
    assert "unconfirmed: valid_from" in y2024.cite()


def test_fee_valid_from_inclusive_and_default_before(cat: Catalogue) -> None:
    before = cat.patient_fee("04", DOCTOR, ContactMode.chat, PRIMARY, date(2021, 6, 30))
    start = cat.patient_fee("04", DOCTOR, ContactMode.chat, PRIMARY, date(2021, 7, 1))
    assert before.is_default
    assert before.fallback_for == "04"
    assert (start.is_default, start.amount) == (False, 100)


def test_default_fee_is_flagged(cat: Catalogue) -> None:
    fee = cat.patient_fee("01", DOCTOR, ContactMode.chat, PRIMARY, date(2024, 1, 1))
    assert fee.is_default
    assert fee.schedule == "default"
    assert fee.fallback_for == "01"
    assert fee.status.value == "illustrative"
    assert "default_schedule" in fee.origin
    # A region with data but not for this key falls back too (Sörmland physical visits).
    physical = cat.patient_fee("04", DOCTOR, ContactMode.physical, PRIMARY, date(2024, 1, 1))
    assert physical.is_default
    assert physical.fallback_for == "04"


def test_default_fee_is_copied_once_per_region(cat: Catalogue) -> None:
    """The copy naming the region is kept (it cost more than a liability decision)."""
    on = date(2024, 1, 1)
    first = cat.patient_fee("01", DOCTOR, ContactMode.chat, PRIMARY, on)
    again = cat.patient_fee("01", DOCTOR, ContactMode.chat, PRIMARY, on)
    other = cat.patient_fee("03", DOCTOR, ContactMode.chat, PRIMARY, on)
    assert again is first
    assert (first.fallback_for, other.fallback_for) == ("01", "03")
    assert other.amount == first.amount


def test_inpatient_has_no_fee(cat: Catalogue) -> None:
    with pytest.raises(NoFeeSchedule):
        cat.patient_fee("01", DOCTOR, ContactMode.physical, CareLevel.inpatient, date(2024, 1, 1))
    assert cat.price(3, CareLevel.inpatient, ContactMode.physical, DOCTOR, date(2024, 1, 1)) is None


def test_unknown_is_none(cat: Catalogue) -> None:
    assert cat.reimbursement("01", DOCTOR, ContactMode.chat, date(2024, 1, 1)) is None
    assert cat.reimbursement("04", DOCTOR, ContactMode.physical, date(2024, 1, 1)) is None
    assert cat.price(3, PRIMARY, ContactMode.physical, DOCTOR, date(2014, 12, 31)) is None
    assert cat.referral_required("01", PRIMARY, date(2014, 12, 31)) is None


# --- criteria sets, referral requirements, entry points -------------------------------------


def test_criteria_sets(cat: Catalogue) -> None:
    own = cat.criteria_set("sormland-digital", "2021.1")
    national = cat.criteria_set("national-digital", "2025.1")
    assert own is not None
    assert national is not None
    assert cat.criteria_set("sormland-digital", "9.9") is None
    assert {"p1", "p2", "p3", "p4"} <= set(own.required_criteria)
    assert own.adopted_by_on("04", date(2025, 9, 30))
    assert not own.adopted_by_on("04", date(2025, 10, 1))  # valid_to exclusive
    assert not own.adopted_by_on("14", date(2024, 1, 1))
    assert national.adopted_by_on("04", date(2025, 10, 1))
    assert not national.adopted_by_on("04", date(2025, 9, 30))
    assert national.owning_region is None
    assert len(national.adopted_by) > 1
    assert Profession.assistant_nurse not in national.allowed_professions
    ids = {(c.id, c.version) for c in cat.criteria_sets_adopted_by("04", date(2026, 1, 1))}
    assert ids == {("national-digital", "2025.1")}
    assert all(c.status.value == "illustrative" for c in cat.criteria_sets)


def test_referral_requirements(cat: Catalogue) -> None:
    """SOU 2021:59 table 6.1 (1177.se, February 2021): "Norrbotten Neuropsykiatrisk utredning";
    "Skåne -"; Västmanland is not in the table."""
    on = date(2024, 5, 1)
    required = cat.referral_required("25", SPECIALISED, on, "neuropsychiatric_investigation")
    other = cat.referral_required("25", SPECIALISED, on, "orthopaedics")
    skane = cat.referral_required("12", SPECIALISED, on, "neuropsychiatric_investigation")
    primary = cat.referral_required("25", PRIMARY, on)
    assert required is not None
    assert other is not None
    assert skane is not None
    assert primary is not None
    assert (required.required, other.required, skane.required, primary.required) == (
        True, False, False, False
    )  # fmt: skip
    assert (required.specialty, other.specialty) == ("neuropsychiatric_investigation", "*")
    assert required.status.value == "sourced"
    assert cat.referral_required("19", SPECIALISED, on, "orthopaedics") is None
    assert cat.referral_required("12", SPECIALISED, date(2021, 1, 31)) is None  # before the table


def test_entry_points(cat: Catalogue) -> None:
    vgr = {p.id: p for p in cat.entry_points("14")}
    assert {"1177-e-tjanster", "narhalsan-online", "capio-go"} <= set(vgr)
    assert vgr["narhalsan-online"].status.value == "sourced"
    assert ContactMode.chat in vgr["narhalsan-online"].modes
    assert all(cat.entry_points(c) for c in COUNTY_CODES)
    early = {p.id for p in cat.entry_points("14", date(2023, 2, 28))}
    assert "1177-direkt" not in early
    assert "1177-direkt" in {p.id for p in cat.entry_points("14", date(2023, 3, 1))}
    assert cat.entry_points("99") == []


def test_every_file_declares_status_and_sources() -> None:
    for name in FILE_NAMES:
        raw = json.loads((DATA / name).read_text(encoding="utf-8"))
        assert raw["status"], name
        assert raw["sources"], name
        rows = raw["entries"] + raw.get("default_schedule", {}).get("entries", [])
        for row in rows:
            assert row["status"] in ("sourced", "illustrative"), (name, row)
            assert row["source"], (name, row)


def test_illustrative_data_is_marked(cat: Catalogue) -> None:
    on = date(2024, 6, 1)
    specialised = cat.price(2, SPECIALISED, ContactMode.chat, DOCTOR, on)
    physical = cat.price(5, PRIMARY, ContactMode.physical, DOCTOR, on)
    assert specialised is not None
    assert physical is not None
    assert specialised.status.value == physical.status.value == "illustrative"


# --- broken files -----------------------------------------------------------------------


def test_overlapping_periods(data_dir: Path) -> None:
    def overlap(raw: Any) -> None:
        row = dict(raw["entries"][3])  # 500 SEK doctor on all lists from 2019-06-01
        row.update(price_lists=[2], amount=480, valid_from="2020-01-01")
        raw["entries"].append(row)

    _edit(data_dir, "price_lists.json", overlap)
    msg = _error(data_dir)
    assert re.search(r"price_lists\.json entries\[\d+\] \(valid_from/valid_to 2020-01-01", msg)
    assert "overlaps price_lists.json entries[3]" in msg
    assert "2 / primary / distance / doctor" in msg


def test_overlapping_fee_from_mode_override(data_dir: Path) -> None:
    def overlap(raw: Any) -> None:
        raw["entries"].append(
            {"region": "14", "care_levels": ["primary"], "mode_class": "distance",
             "price_categories": ["doctor"], "amount": 90, "valid_from": "2023-01-01",
             "valid_to": "2024-06-01", "source": "test", "status": "illustrative"}
        )  # fmt: skip

    _edit(data_dir, "patient_fees.json", overlap)
    msg = _error(data_dir)
    assert "patient_fees.json entries[" in msg
    assert "14 / primary / doctor / chat" in msg


def test_unknown_region(data_dir: Path) -> None:
    _edit(data_dir, "patient_fees.json", lambda raw: raw["entries"][0].update(region="02"))
    msg = _error(data_dir)
    assert 'patient_fees.json: entries[0] (key: region="02"' in msg
    assert "region: " in msg
    assert "'02' is not a län code in regions.json" in msg


def test_unknown_region_in_a_list(data_dir: Path) -> None:
    _edit(data_dir, "criteria_sets.json", lambda raw: raw["entries"][1]["adopted_by"].append("16"))
    msg = _error(data_dir)
    assert "criteria_sets.json: entries[1] (key: id=" in msg
    assert "adopted_by[" in msg
    assert "'16'" in msg


def test_bad_profession(data_dir: Path) -> None:
    _edit(
        data_dir,
        "criteria_sets.json",
        lambda raw: raw["entries"][2]["allowed_professions"].append("dentist"),
    )
    msg = _error(data_dir)
    assert 'criteria_sets.json: entries[2] (key: id="sormland-digital"' in msg
    assert "allowed_professions[4]" in msg
    assert "dentist" in msg


def test_unlicensed_assessor(data_dir: Path) -> None:
    _edit(
        data_dir,
        "criteria_sets.json",
        lambda raw: raw["entries"][0]["allowed_professions"].append("assistant_nurse"),
    )
    msg = _error(data_dir)
    assert "criteria_sets.json: entries[0]" in msg
    assert "allowed_professions: the judgement belongs to licensed staff" in msg


def test_missing_principle(data_dir: Path) -> None:
    def drop_p4(raw: Any) -> None:
        entry = raw["entries"][3]
        entry["required_criteria"].remove("p4")
        del entry["criteria"]["p4"]

    _edit(data_dir, "criteria_sets.json", drop_p4)
    assert "follow_up_not_possible" in _error(data_dir)


def test_missing_field(data_dir: Path) -> None:
    _edit(data_dir, "provider_reimbursement.json", lambda raw: raw["entries"][1].pop("source"))
    msg = _error(data_dir)
    assert 'provider_reimbursement.json: entries[1] (key: care_region="04"' in msg
    assert "source: Field required" in msg


def test_price_list_code_out_of_range(data_dir: Path) -> None:
    _edit(data_dir, "price_lists.json", lambda raw: raw["entries"][0]["price_lists"].append(7))
    msg = _error(data_dir)
    assert "price_lists.json: entries[0]" in msg
    assert "price_lists[6]" in msg


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e.update(valid_from=20190601), "valid_from: expected an ISO date"),
        (lambda e: e.update(valid_from="2019-13-01"), "valid_from"),
        (lambda e: e.update(valid_to="2017-01-01"), "valid_to: 2017-01-01 must be after"),
        (lambda e: e.update(status="guessed"), "status"),
        (lambda e: e.update(amount=-1), "amount"),
        (lambda e: e.update(amount=10**9), "amount"),  # absurd: over 1 000 000 SEK
        (lambda e: e.update(amount="500"), "amount"),
        (lambda e: e.update(unconfirmed=["year"]), "unconfirmed: names no field"),
        (lambda e: e.update(care_levels=["inpatient"]), "only outpatient levels"),
        (lambda e: e.update(surprise=1), "surprise: Extra inputs are not permitted"),
    ],
)
def test_bad_price_rows(data_dir: Path, change: Callable[[Any], None], expected: str) -> None:
    _edit(data_dir, "price_lists.json", lambda raw: change(raw["entries"][0]))
    msg = _error(data_dir)
    assert "price_lists.json: entries[0] (key: price_lists=[1, 2, 3, 4, 5, 6]" in msg
    assert expected in msg


def test_mode_override_of_the_wrong_class(data_dir: Path) -> None:
    _edit(
        data_dir,
        "patient_fees.json",
        lambda raw: raw["entries"][0].update(mode_amounts={"physical": 50}),
    )
    assert "mode_amounts: ['physical'] are not distance modes" in _error(data_dir)


def test_default_schedule_must_be_complete(data_dir: Path) -> None:
    _edit(data_dir, "patient_fees.json", lambda raw: raw["default_schedule"]["entries"].pop(0))
    msg = _error(data_dir)
    assert "patient_fees.json: default_schedule: no fee for primary / doctor / chat" in msg


def test_overlapping_criteria_versions(data_dir: Path) -> None:
    _edit(data_dir, "criteria_sets.json", lambda raw: raw["entries"][0].update(valid_to=None))
    msg = _error(data_dir)
    assert "criteria_sets.json: entries[1] (key: id=national-digital, version=2025.1)" in msg
    assert "overlaps entries[0]" in msg


def test_missing_file_and_bad_json(data_dir: Path) -> None:
    (data_dir / "referral_requirements.json").unlink()
    (data_dir / "digital_entry_points.json").write_text("{ not json", encoding="utf-8")
    msg = _error(data_dir)
    assert "referral_requirements.json: file not found" in msg
    assert "digital_entry_points.json: not valid JSON (line 1" in msg


# --- version --------------------------------------------------------------------------------


def test_default_catalogue_is_cached(cat: Catalogue) -> None:
    assert load_catalogue() is load_catalogue()
    assert re.fullmatch(r"[0-9a-f]{12}", cat.version)


def test_version_follows_content(data_dir: Path, cat: Catalogue) -> None:
    assert load_catalogue(data_dir).version == cat.version
    _edit(data_dir, "referral_requirements.json", lambda raw: None)  # reformatted only
    assert load_catalogue(data_dir).version == cat.version
    _edit(data_dir, "provider_reimbursement.json", lambda raw: raw["entries"][1].update(amount=461))
    changed = load_catalogue(data_dir)
    assert changed.version != cat.version
    paid = changed.reimbursement("04", DOCTOR, ContactMode.chat, date(2022, 1, 1))
    assert paid is not None
    assert paid.amount == 461
    _edit(data_dir, "provider_reimbursement.json", lambda raw: raw["entries"][1].update(amount=460))
    assert load_catalogue(data_dir).version == cat.version
