"""Seeded, realistic demo care episodes: what a year of Swedish front-ends would post.

Why: demos, load tests and the liability projections need data with the real mix (seed 004:
out-of-region digital contacts with national providers contracted by Sörmland and Jönköping,
67 % doctor ... 2 % other) that also exercises every rule: offers declined by preference,
chat escalated to video, assessments before, after or absent, late documentation, referrals,
a corrected home region. Each episode is a list of JSON-ready event dicts in recording order,
valid for ``parse_event`` and accepted by the journey rules.

One ``random.Random(seed)`` drives everything, ids included, so a seed gives byte-identical
output. Providers and HSA-ids are ILLUSTRATIVE look-alikes, not real identifiers. No pydantic
on the hot path: generation must stay well above 20 000 events/s.

This module is the entry point and owns the seeded state (rng, window, regions); the mixes
live in ``providers.py``, the event-recording steps in ``builder.py`` and the episode stories
in ``scenarios.py``. The names they export are re-exported here for existing callers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from uuid import UUID

from routing.demo.builder import TZ, Cutoff, Event
from routing.demo.providers import (
    PROFESSION_MIX_004,
    PROVIDERS,
    START_HOURS,
    DigitalProvider,
    Table,
)
from routing.demo.scenarios import SCENARIO_PICK, SCENARIOS, Episode
from routing.reference.regions import Regions, load_regions

__all__ = [
    "PROFESSION_MIX_004",
    "PROVIDERS",
    "SCENARIOS",
    "TZ",
    "DigitalProvider",
    "EpisodeGenerator",
    "Event",
    "generate_episodes",
    "generate_events",
]


class EpisodeGenerator:
    """The seeded state every episode draws from: one rng, the window, the regions."""

    def __init__(self, seed: int, start: date, end: date, regions: Regions) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data must be reproducible, not secret
        self.start, self.days = start, (end - start).days
        self.end = datetime(end.year, end.month, end.day, tzinfo=TZ)
        self.counties = Table(dict(sorted(regions.population_weights().items())))
        self.municipalities = {
            r.county: [m.code for m in r.municipalities] for r in regions.regions
        }
        self._providers: dict[tuple[str, str], Table] = {}

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def provider_for(self, profession: str, home: str) -> DigitalProvider:
        """A provider offering ``profession`` whose care region is not the patient's ``home``."""
        if (table := self._providers.get((profession, home))) is None:
            fits = [p for p in PROVIDERS if profession in p.professions and p.care_region != home]
            table = self._providers[profession, home] = Table({p: p.weight for p in fits})
        provider: DigitalProvider = table.pick(self.rng)
        return provider

    def episode(self) -> list[Event]:
        rng = self.rng
        d = self.start + timedelta(days=rng.randrange(self.days))
        t0 = datetime(
            d.year,
            d.month,
            d.day,
            START_HOURS.pick(rng),
            rng.randrange(60),
            rng.randrange(60),
            tzinfo=TZ,
        )
        ep = Episode(self, t0)
        ep.begin()
        try:
            getattr(ep, SCENARIO_PICK.pick(rng))()
            if rng.random() < 0.005:
                ep.correct_home_region()
        except Cutoff:
            pass  # the window ends mid-episode, as in any extract: the rest has not happened
        return ep.events


def generate_episodes(
    seed: int, count: int, *, start: date, end: date, regions: Regions | None = None
) -> Iterator[list[Event]]:
    """Yields ``count`` episodes, each a list of event dicts in recording order.

    Every ``occurred_at`` lies in [start, end), Europe/Stockholm; an episode that would run
    past ``end`` is cut there. The same arguments give the same output, byte for byte.
    """
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    gen = EpisodeGenerator(seed, start, end, regions or load_regions())
    for _ in range(count):
        yield gen.episode()


def generate_events(
    seed: int, events: int, *, start: date, end: date, regions: Regions | None = None
) -> Iterator[list[Event]]:
    """Yields episodes until at least ``events`` events were yielded (national scale: a
    million events is about 220,000 episodes). Streams: nothing is kept between episodes.

    The same arguments give the same output, and a prefix of ``generate_episodes`` with the
    same seed and window."""
    if events < 0:
        raise ValueError(f"events must not be negative, got {events}")
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    gen = EpisodeGenerator(seed, start, end, regions or load_regions())
    produced = 0
    while produced < events:
        episode = gen.episode()
        produced += len(episode)
        yield episode
