"""The audit questions answered against the event store (the I/O around the pure parts).

Shared by the CLI (``routing history|simulate``) and the API (``/audit/...``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from uuid import UUID

from routing.audit.history import EpisodeView, Learnt, known_at, learnt_between, occurred_by, view
from routing.audit.reading import FactReader
from routing.audit.simulation import Scope, Simulation, Simulator
from routing.episodes.events import EpisodeEvent, parse_stored_event
from routing.episodes.service import CareEpisodes
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions

Progress = Callable[[int, int], None]
"""(store position reached, last store position)."""


def episode_known_at(
    service: CareEpisodes, episode_id: UUID, at: datetime, policy: RulebookPolicy
) -> EpisodeView:
    entries = known_at(service.history(episode_id), at)
    return view(entries, str(episode_id), policy, load_catalogue(), load_regions())


def episode_occurred_by(
    service: CareEpisodes, episode_id: UUID, at: datetime, policy: RulebookPolicy
) -> EpisodeView:
    entries = occurred_by(service.history(episode_id), at)
    return view(entries, str(episode_id), policy, load_catalogue(), load_regions())


def episode_learnt(
    service: CareEpisodes, episode_id: UUID, since: datetime, until: datetime
) -> list[Learnt]:
    return learnt_between(service.history(episode_id), since, until)


def episode_facts(
    reader: FactReader, progress: Progress | None = None
) -> Iterator[tuple[str, EpisodeEvent, datetime]]:
    """Every episode fact in the store, parsed (billing months' closings are skipped);
    ``progress(position reached, last position)`` after every page."""
    last = reader.last_position()
    for page in reader.pages(0, last):
        for stored in page:
            if stored.type == "month_closed":
                continue
            yield (
                stored.subject,
                parse_stored_event(stored.fact),
                datetime.fromisoformat(stored.recorded_at),
            )
        if progress is not None:
            progress(page[-1].position, last)


def simulate(
    service: CareEpisodes,
    baseline: RulebookPolicy,
    alternative: RulebookPolicy,
    scope: Scope,
    progress: Progress | None = None,
) -> Simulation:
    simulator = Simulator(baseline, alternative, scope, load_catalogue(), load_regions())
    simulator.add_all(episode_facts(FactReader(service), progress))
    if progress is not None:
        last = FactReader(service).last_position()
        progress(last, last)
    return simulator.result()
