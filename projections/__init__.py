"""Read models computed from the event topic, each kept in SQL with its Kafka positions.

``PROJECTIONS`` names every projection the runner and ``routing projections`` know, each
with the factory that builds it from the settings (rulebook policy, reference data).
"""

from collections.abc import Callable

from projections.base import Projection
from projections.care_guarantee import CareGuarantee
from projections.episode_summary import EpisodeSummary
from projections.liability import Liability
from projections.necessity import Necessity
from routing.config import Settings


def _liability(settings: Settings) -> Projection:
    from routing.reference.catalogue import load_catalogue
    from routing.reference.regions import load_regions

    return Liability(settings.rulebook_policy(), load_catalogue(), load_regions())


PROJECTIONS: dict[str, Callable[[Settings], Projection]] = {
    EpisodeSummary.name: lambda _: EpisodeSummary(),
    Liability.name: _liability,
    Necessity.name: lambda settings: Necessity(settings.rulebook_policy()),
    CareGuarantee.name: lambda _: CareGuarantee(),
}

__all__ = ["PROJECTIONS", "Projection"]
