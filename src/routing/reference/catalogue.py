# Over 300 lines because the tables are validated across each other, hashed as one.
"""The reference catalogue: every dated table the liability engine reads, validated at load.

Six files under ``reference/data`` (price lists, provider reimbursement, patient fees, criteria
sets, referral requirements, digital entry points) are parsed, flattened to one entry per key
and checked across files: region codes must exist in regions.json, price lists must be 1 to 6,
professions must be valid and licensed where the rules demand it, and no key may have two
entries in force on the same day. A broken file stops the service with a message naming the
file, the entry (index and key) and the field. ``Catalogue.version`` is a short hash of the
content, so each decision can record which reference data it used (C1).

Lookups are pure and return the matched entry, with ``source``, ``status`` and ``origin``, so
callers can cite them. Dates are ``datetime.date``: callers convert a contact's start to the
Europe/Stockholm date first. Validity is ``valid_from`` inclusive, ``valid_to`` exclusive.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib.resources import files
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from routing.episodes.vocabulary import CareLevel, ContactMode, Profession
from routing.reference.care_rules import (
    CriteriaSet,
    CriteriaSetsFile,
    EntryPoint,
    EntryPointsFile,
    ReferralFile,
    ReferralKey,
    ReferralRequirement,
    criteria_problems,
    flatten_entry_points,
    flatten_referrals,
)
from routing.reference.regions import Regions, load_regions
from routing.reference.tariffs import (
    DEFAULT_SCHEDULE,
    CatalogueDataError,
    DataFile,
    FeeEntry,
    FeeKey,
    ModeClass,
    NoFeeSchedule,
    PatientFeesFile,
    PriceCategory,
    PriceEntry,
    PriceKey,
    PriceListsFile,
    ReimbursementEntry,
    ReimbursementFile,
    ReimbursementKey,
    default_fee_gaps,
    flatten_fees,
    flatten_prices,
    flatten_reimbursements,
    in_force,
    index_periods,
)
from routing.reference.tariffs import price_category as _price_category

_FILES: dict[str, tuple[type[DataFile], tuple[str, ...]]] = {
    "price_lists.json": (
        PriceListsFile,
        ("price_lists", "care_levels", "mode_class", "price_categories", "valid_from"),
    ),
    "provider_reimbursement.json": (
        ReimbursementFile, ("care_region", "mode_class", "price_categories", "valid_from")
    ),
    "patient_fees.json": (
        PatientFeesFile,
        ("region", "care_levels", "mode_class", "price_categories", "valid_from"),
    ),
    "criteria_sets.json": (CriteriaSetsFile, ("id", "version", "valid_from")),
    "referral_requirements.json": (
        ReferralFile, ("home_regions", "care_levels", "specialty", "valid_from")
    ),
    "digital_entry_points.json": (EntryPointsFile, ("id", "regions", "valid_from")),
}  # fmt: skip
FILE_NAMES: tuple[str, ...] = tuple(_FILES)


class Catalogue:
    """The validated reference data with its lookups. Build with ``load_catalogue``."""

    def __init__(
        self,
        version: str,
        files: Mapping[str, DataFile],
        prices: Mapping[PriceKey, tuple[PriceEntry, ...]],
        reimbursements: Mapping[ReimbursementKey, tuple[ReimbursementEntry, ...]],
        fees: Mapping[FeeKey, tuple[FeeEntry, ...]],
        referrals: Mapping[ReferralKey, tuple[ReferralRequirement, ...]],
        entry_points: Mapping[str, tuple[EntryPoint, ...]],
    ) -> None:
        self.version = version
        """Short sha256 of the canonical content of all six files and regions.json."""
        self.files = dict(files)
        self._prices = dict(prices)
        self._reimbursements = dict(reimbursements)
        self._fees = dict(fees)
        self._fallbacks: dict[tuple[str, int], FeeEntry] = {}
        """The default schedule's entries, copied once per region that falls back to them:
        a pydantic copy costs more than deciding a contact's liability."""
        self._referrals = dict(referrals)
        self._entry_points = dict(entry_points)
        self.criteria_sets: tuple[CriteriaSet, ...] = _typed(
            files, "criteria_sets.json", CriteriaSetsFile
        ).entries

    def __repr__(self) -> str:
        return f"Catalogue(version={self.version!r})"

    @staticmethod
    def price_category(profession: Profession) -> PriceCategory:
        return _price_category(profession)

    def price(
        self,
        price_list: int,
        care_level: CareLevel,
        mode: ContactMode,
        category: PriceCategory,
        on: date,
    ) -> PriceEntry | None:
        """R11: the out-of-region price on ``price_list`` in force on ``on``; None = unknown."""
        key = (price_list, care_level, ModeClass.of(mode), category)
        return in_force(self._prices.get(key, ()), on)

    def reimbursement(
        self, care_region: str, category: PriceCategory, mode: ContactMode, on: date
    ) -> ReimbursementEntry | None:
        """R12: what the care region pays its provider; None = not known."""
        key = (care_region, ModeClass.of(mode), category)
        return in_force(self._reimbursements.get(key, ()), on)

    def patient_fee(
        self,
        region: str,
        category: PriceCategory,
        mode: ContactMode,
        care_level: CareLevel,
        on: date,
    ) -> FeeEntry:
        """R13/R14: ``region``'s fee; without a matching row, the default schedule's, with
        ``is_default`` True and ``fallback_for`` naming the region."""
        found = in_force(self._fees.get((region, care_level, category, mode), ()), on)
        if found is not None:
            return found
        default = in_force(self._fees.get((DEFAULT_SCHEDULE, care_level, category, mode), ()), on)
        if default is None:
            raise NoFeeSchedule(
                f"no fee for region {region} nor in the default schedule: {care_level.value}, "
                f"{category.value}, {mode.value} on {on.isoformat()}"
            )
        key = (region, id(default))  # ``default`` lives in ``_fees`` as long as we do
        copied = self._fallbacks.get(key)
        if copied is None:
            copied = self._fallbacks[key] = default.model_copy(update={"fallback_for": region})
        return copied

    def criteria_set(self, set_id: str, version: str) -> CriteriaSet | None:
        for cs in self.criteria_sets:
            if cs.id == set_id and cs.version == version:
                return cs
        return None

    def criteria_sets_adopted_by(self, region: str, on: date) -> tuple[CriteriaSet, ...]:
        """C4: the criteria sets ``region`` uses on ``on`` (a region may use several)."""
        return tuple(cs for cs in self.criteria_sets if cs.adopted_by_on(region, on))

    def referral_required(
        self, home_region: str, care_level: CareLevel, on: date, specialty: str = "*"
    ) -> ReferralRequirement | None:
        """R8: the home region's referral requirement (a specialty row beats '*');
        None = not known."""
        for spec in dict.fromkeys((specialty, "*")):
            found = in_force(self._referrals.get((home_region, care_level, spec), ()), on)
            if found is not None:
                return found
        return None

    def changes(self) -> tuple[date, ...]:
        """Every day a dated price, reimbursement, fee, referral rule or criteria set starts or
        ends: between two of them every lookup above answers alike (the what-if groups
        contacts by the stretch their day falls in, routing.audit.whatif)."""
        dated = [
            *chain.from_iterable(self._prices.values()),
            *chain.from_iterable(self._reimbursements.values()),
            *chain.from_iterable(self._fees.values()),
            *chain.from_iterable(self._referrals.values()),
            *self.criteria_sets,
        ]
        ends = {d.valid_to for d in dated if d.valid_to is not None}
        return tuple(sorted({d.valid_from for d in dated} | ends))

    def entry_points(self, region: str, on: date | None = None) -> list[EntryPoint]:
        """R7: the region's own digital front doors (in force on ``on``, if given)."""
        points = self._entry_points.get(region, ())
        return [p for p in points if on is None or p.in_force(on)]


# --- loading -----------------------------------------------------------------------------


def load_catalogue(directory: Path | None = None, regions: Regions | None = None) -> Catalogue:
    """Reads and validates the six files in ``directory`` (default: the shipped ones, cached),
    checking region codes against ``regions`` (default: the shipped regions.json)."""
    if directory is None and regions is None:
        return _default_catalogue()
    if directory is None:
        return parse_catalogue(_read_default(), regions or load_regions())
    texts: dict[str, str | None] = {}
    for name in FILE_NAMES:
        path = Path(directory) / name
        texts[name] = path.read_text(encoding="utf-8") if path.is_file() else None
    return parse_catalogue(texts, regions or load_regions(), str(directory))


@cache
def _default_catalogue() -> Catalogue:
    return parse_catalogue(_read_default(), load_regions())


def _read_default() -> dict[str, str | None]:
    data = files("routing.reference").joinpath("data")
    return {name: data.joinpath(name).read_text(encoding="utf-8") for name in FILE_NAMES}


def parse_catalogue(
    texts: Mapping[str, str | None], regions: Regions, where: str = "routing.reference/data"
) -> Catalogue:
    """Validates file texts (name → JSON text, None = missing); raises CatalogueDataError."""
    problems: list[str] = []
    parsed: dict[str, DataFile] = {}
    canonical: dict[str, bytes] = {}
    context = {
        "counties": frozenset(regions.counties),
        "price_lists": frozenset(h.price_list for h in regions.healthcare_regions.values()),
    }
    for name, (model, key_fields) in _FILES.items():
        text = texts.get(name)
        if text is None:
            problems.append(f"{name}: file not found in {where}")
            continue
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}): "
                            f"{exc.msg}")  # fmt: skip
            continue
        canonical[name] = json.dumps(
            raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        try:
            parsed[name] = model.model_validate(raw, context=context)
        except ValidationError as exc:
            problems.extend(
                _problem(name, raw, tuple(e["loc"]), _message(e), key_fields) for e in exc.errors()
            )
    if problems:
        raise CatalogueDataError("invalid reference data:\n  " + "\n  ".join(problems))
    catalogue, problems = _build(parsed, canonical, regions)
    if problems:
        raise CatalogueDataError("invalid reference data:\n  " + "\n  ".join(problems))
    return catalogue


def _build(
    parsed: Mapping[str, DataFile], canonical: Mapping[str, bytes], regions: Regions
) -> tuple[Catalogue, list[str]]:
    prices_f = _typed(parsed, "price_lists.json", PriceListsFile)
    reimb_f = _typed(parsed, "provider_reimbursement.json", ReimbursementFile)
    fees_f = _typed(parsed, "patient_fees.json", PatientFeesFile)
    criteria_f = _typed(parsed, "criteria_sets.json", CriteriaSetsFile)
    referral_f = _typed(parsed, "referral_requirements.json", ReferralFile)
    points_f = _typed(parsed, "digital_entry_points.json", EntryPointsFile)
    problems: list[str] = []

    def keyed(k: tuple[Any, ...]) -> str:
        return " / ".join(str(getattr(p, "value", p)) for p in k)

    prices, p = index_periods(flatten_prices(prices_f.entries, "price_lists.json"), keyed)
    problems += p
    reimbursements, p = index_periods(
        flatten_reimbursements(reimb_f.entries, "provider_reimbursement.json"), keyed
    )
    problems += p
    fee_pairs = flatten_fees(fees_f.entries, "patient_fees.json", "entries")
    fee_pairs += flatten_fees(
        fees_f.default_schedule.entries, "patient_fees.json", "default_schedule.entries"
    )
    fees, p = index_periods(fee_pairs, keyed)
    problems += p + default_fee_gaps(fees)
    referrals, p = index_periods(
        flatten_referrals(referral_f.entries, "referral_requirements.json"), keyed
    )
    problems += p
    points, p = index_periods(
        flatten_entry_points(points_f.entries, "digital_entry_points.json"), keyed
    )
    problems += p + criteria_problems(criteria_f)
    by_region: dict[str, list[EntryPoint]] = {}
    for entries in points.values():
        for ep in entries:
            by_region.setdefault(ep.region, []).append(ep)

    digest = hashlib.sha256()
    for name in FILE_NAMES:
        digest.update(name.encode() + b"\0" + canonical[name] + b"\0")
    digest.update(b"regions.json\0" + regions.model_dump_json().encode())
    catalogue = Catalogue(
        version=digest.hexdigest()[:12],
        files=parsed,
        prices=prices,
        reimbursements=reimbursements,
        fees=fees,
        referrals=referrals,
        entry_points={r: tuple(sorted(v, key=lambda e: (e.id, e.valid_from)))
                      for r, v in by_region.items()},
    )  # fmt: skip
    return catalogue, problems


def _message(error: Any) -> str:
    """Pydantic's message, plus the offending value when it is a scalar not already quoted."""
    msg = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float | bool) and repr(value) not in msg:
        msg += f" (got {json.dumps(value, ensure_ascii=False)})"
    return msg


F = TypeVar("F", bound=DataFile)


def _typed(parsed: Mapping[str, DataFile], name: str, cls: type[F]) -> F:
    value = parsed[name]
    assert isinstance(value, cls)
    return value


def _fmt_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(
    file: str, raw: Any, loc: tuple[int | str, ...], msg: str, key_fields: tuple[str, ...]
) -> str:
    """'<file>: <section>entries[i] (key: ...): <field>: <problem>'."""
    for i, part in enumerate(loc):
        if isinstance(part, int) and i > 0 and loc[i - 1] == "entries":
            item: Any = raw
            try:
                for step in loc[: i + 1]:
                    item = item[step]
            except (KeyError, IndexError, TypeError):
                item = None
            keys = ""
            if isinstance(item, dict):
                shown = [
                    f"{k}={json.dumps(item[k], ensure_ascii=False)}"
                    for k in key_fields
                    if k in item
                ]
                keys = f" (key: {', '.join(shown)})" if shown else ""
            field = _fmt_loc(loc[i + 1 :]) or "(entry)"
            return f"{file}: {_fmt_loc(loc[: i + 1])}{keys}: {field}: {msg}"
    return f"{file}: {_fmt_loc(loc) or '(top level)'}: {msg}"


__all__ = ["FILE_NAMES", "Catalogue", "load_catalogue", "parse_catalogue"]


def reload_catalogue() -> Catalogue:
    """Validates the shipped files as they are on disk now and, only if they pass, makes them
    the catalogue every rule reads (a bad file raises and leaves the current one in force)."""
    fresh = parse_catalogue(_read_default(), load_regions())
    _default_catalogue.cache_clear()
    loaded = _default_catalogue()
    assert loaded.version == fresh.version
    return loaded
