"""Read models computed from the event topic, each kept in SQL with its Kafka positions.

``PROJECTIONS`` names every projection the runner and ``routing projections`` know, each
with the factory that builds it from the settings (rulebook policy, reference data).
"""

from collections.abc import Callable

from projections import guarantee, indicators, liability, necessity
from projections.base import Projection
from projections.db import Cursor
from projections.episode_summary import EpisodeSummary
from projections.guarantee import CareGuarantee
from projections.liability import Liability
from projections.necessity import Necessity
from routing.config import Settings
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions


def _liability(settings: Settings) -> Projection:
    return Liability(settings.rulebook_policy(), load_catalogue(), load_regions())


PROJECTIONS: dict[str, Callable[[Settings], Projection]] = {
    EpisodeSummary.name: lambda _: EpisodeSummary(),
    Liability.name: _liability,
    Necessity.name: lambda settings: Necessity(settings.rulebook_policy()),
    CareGuarantee.name: lambda settings: CareGuarantee(settings.guarantee_policy()),
    indicators.Indicators.name: indicators.build,
}


def create_read_model_tables(cur: Cursor) -> None:
    """Every read model's live tables, for readers (the API) that may start before the
    projection runners have seen a message."""
    EpisodeSummary().create(cur)
    liability.create_tables(cur)
    necessity.create_tables(cur)
    guarantee.create_tables(cur)
    indicators.create_tables(cur)


__all__ = ["PROJECTIONS", "Projection", "create_read_model_tables"]
