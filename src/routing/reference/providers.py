"""Who owns a provider (a region, or a private company) and under which regions' agreements it
works: the reference data a contact's entry path is derived from (docs/indicators.md).

Why a list and not a rule on the HSA-id: an HSA-id's prefix names the organisation that
issued it (often the region's HSA catalogue, also for private vårdval providers), not the
owner. A provider that is not listed is ``unknown``, and so is its contacts' entry path: the
indicators count those apart rather than guess. Only ``load_providers`` reads files.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from enum import StrEnum
from functools import cache
from importlib.resources import files
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from routing.episodes.vocabulary import HsaId
from routing.reference.records import (
    CatalogueDataError,
    Dated,
    KnownCounty,
    Text,
    check_unique,
)


class Ownership(StrEnum):
    region = "region"
    """Run by the region itself (its own vårdcentraler, 1177 direkt, its digital services)."""
    private = "private"
    """A private company, under one or more regions' agreements (vårdval, national digital
    providers)."""


class ProviderEntry(Dated):
    provider_id: HsaId
    name: Text
    ownership: Ownership
    contract_regions: Annotated[tuple[KnownCounty, ...], Field(min_length=1)]
    """Regions whose agreement the provider works under (its care regions)."""

    @model_validator(mode="after")
    def _unique_regions(self) -> Self:
        check_unique(self.contract_regions, "contract_regions")
        return self


class ProvidersFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1]
    status: Annotated[dict[str, Any], Field(min_length=1)]
    sources: Annotated[list[Text], Field(min_length=1)]
    entries: tuple[ProviderEntry, ...]

    @model_validator(mode="after")
    def _no_overlap(self) -> Self:
        by_id: dict[str, list[ProviderEntry]] = {}
        for e in self.entries:
            by_id.setdefault(e.provider_id, []).append(e)
        for provider, rows in by_id.items():
            rows.sort(key=lambda e: e.valid_from)
            for a, b in pairwise(rows):
                if a.valid_to is None or a.valid_to > b.valid_from:
                    raise ValueError(f"entries: two rows for {provider} in force on the same day")
        return self


class Providers:
    """The validated file with its lookup. Build with ``load_providers``."""

    def __init__(self, data: ProvidersFile, version: str) -> None:
        self.data, self.version = data, version
        self._by_id: dict[str, list[ProviderEntry]] = {}
        for e in sorted(data.entries, key=lambda e: e.valid_from):
            self._by_id.setdefault(e.provider_id, []).append(e)

    def provider(self, provider_id: str, on: date) -> ProviderEntry | None:
        """The provider's row in force on ``on``; None = not known (entry path unknown)."""
        return next((e for e in self._by_id.get(provider_id, ()) if e.in_force(on)), None)


def parse_providers(text: str, where: str = "providers.json") -> Providers:
    try:
        raw = json.loads(text)
        data = ProvidersFile.model_validate(raw, context=None)
    except json.JSONDecodeError as exc:
        raise CatalogueDataError(f"{where}: not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    except ValidationError as exc:
        problems = [
            f"{where}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        ]
        raise CatalogueDataError("invalid reference data:\n  " + "\n  ".join(problems)) from exc
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Providers(data, hashlib.sha256(canonical.encode()).hexdigest()[:12])


def load_providers(path: str | Path | None = None) -> Providers:
    """Reads and validates a providers file; without ``path``, the shipped one (cached)."""
    if path is None:
        return _default_providers()
    return parse_providers(Path(path).read_text(encoding="utf-8"), str(path))


@cache
def _default_providers() -> Providers:
    resource = files("routing.reference").joinpath("data", "providers.json")
    return parse_providers(resource.read_text(encoding="utf-8"))
