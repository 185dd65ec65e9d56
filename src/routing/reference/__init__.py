"""Reference data the rules depend on: dated, versioned and validated when loaded."""

from routing.reference.care_rules import CriteriaSet, EntryPoint, ReferralRequirement
from routing.reference.catalogue import Catalogue, load_catalogue
from routing.reference.population import load_population
from routing.reference.providers import load_providers
from routing.reference.regions import (
    HealthcareRegion,
    Region,
    Regions,
    RegionsDataError,
    UnknownRegion,
    load_regions,
)
from routing.reference.tariffs import (
    CatalogueDataError,
    FeeEntry,
    ModeClass,
    NoFeeSchedule,
    PriceCategory,
    PriceEntry,
    ReimbursementEntry,
    price_category,
)


def load_reference_data() -> Catalogue:
    """Loads and validates every reference file (the regions with them; cached): the
    start-up check, and the catalogue every rule reads. The indicators' population and
    provider files are checked with them."""
    load_population()
    load_providers()
    return load_catalogue()


__all__ = [
    "Catalogue",
    "CatalogueDataError",
    "CriteriaSet",
    "EntryPoint",
    "FeeEntry",
    "HealthcareRegion",
    "ModeClass",
    "NoFeeSchedule",
    "PriceCategory",
    "PriceEntry",
    "ReferralRequirement",
    "Region",
    "Regions",
    "RegionsDataError",
    "ReimbursementEntry",
    "UnknownRegion",
    "load_catalogue",
    "load_reference_data",
    "load_regions",
    "price_category",
]
