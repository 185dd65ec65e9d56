"""Read models computed from the event topic, each kept in SQL with its Kafka positions.

``PROJECTIONS`` names every projection the runner and ``routing projections`` know.
"""

from projections.base import Projection
from projections.episode_summary import EpisodeSummary

PROJECTIONS: dict[str, type[Projection]] = {EpisodeSummary.name: EpisodeSummary}

__all__ = ["PROJECTIONS", "Projection"]
