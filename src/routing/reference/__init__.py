"""Reference data the rules depend on: dated, versioned and validated when loaded."""

from routing.reference.regions import (
    HealthcareRegion,
    Region,
    Regions,
    RegionsDataError,
    UnknownRegion,
    load_regions,
)

__all__ = [
    "HealthcareRegion",
    "Region",
    "Regions",
    "RegionsDataError",
    "UnknownRegion",
    "load_regions",
]
