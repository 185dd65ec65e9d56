"""Each kept override of the eventsourcing library's internals against the library path it
replaces, in one process, alternating rounds (issue 19: an override stays only with its
measured gain quoted beside it).

    python benchmarks/overrides.py [--journeys 600] [--rounds 7]

* ``Relay._message``: the stored JSON read as is, against the library's mapper building the
  event object (``_plain_json`` off);
* ``FactReader.decode``: the same for audit's reader (replay, simulation, raw read rate);
* ``CareEpisode.__deepcopy__``: the repository's copy of a cached episode, against a deep
  copy of the aggregate's attributes;
* ``CareEpisodes._save``: ``ProcessingEvent`` filled directly, against its ``collect_events``
  (the rest of the save is the same on both sides, so only the fill is timed).

An in-memory store without a cipher (the relay's fast path is taken only then). Figures are
medians of the rounds, in microseconds per item.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # import as the benchmarks package

from eventsourcing.application import ProcessingEvent  # noqa: E402

from benchmarks.factory import EventFactory  # noqa: E402
from routing.audit.reading import FactReader  # noqa: E402
from routing.config import Settings, StoreKind  # noqa: E402
from routing.episodes.events import parse_event  # noqa: E402
from routing.messaging.relay import Relay  # noqa: E402
from routing.store import FACT_TOPICS, open_episodes  # noqa: E402


def _per_item(fn: Callable[[], None], items: int) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / items * 1e6


def compare(
    name: str, ours: Callable[[], None], library: Callable[[], None], items: int, rounds: int
) -> None:
    mine, theirs = [], []
    for i in range(rounds):  # alternate which goes first
        pair = [(mine, ours), (theirs, library)]
        for out, fn in pair if i % 2 == 0 else reversed(pair):
            out.append(_per_item(fn, items))
    a, b = statistics.median(mine), statistics.median(theirs)
    print(f"{name:28} override {a:8.1f} us   library {b:8.1f} us   {(1 - a / b) * 100:4.0f} % less")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journeys", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    service = open_episodes(Settings(store=StoreKind.memory, _env_file=None))  # type: ignore[call-arg]
    factory = EventFactory()
    for _ in range(args.journeys):
        service.record_batch([parse_event(b) for b in factory.journey()])
    notes = service.recorder.select_notifications(start=0, limit=10**7, topics=FACT_TOPICS)
    relay, reader = Relay(service, "127.0.0.1:1", "bench"), FactReader(service)
    mapper = service.mapper

    def relay_with(plain: bool) -> Callable[[], None]:
        def run() -> None:
            relay._plain_json = plain
            for n in notes:
                relay._message(n)

        return run

    def decode() -> None:
        for n in notes:
            reader.decode(n)

    def to_domain_event() -> None:
        for n in notes:
            mapper.to_domain_event(n)

    episode = service.repository.get(notes[-1].originator_id)
    copies = 2000

    def own_copy() -> None:
        for _ in range(copies):
            copy.deepcopy(episode)

    def attribute_copy() -> None:
        for _ in range(copies):
            clone = object.__new__(type(episode))
            clone.__dict__.update(copy.deepcopy(episode.__dict__))

    # a typical batch: one episode and a receipt a fact (the receipts of the first journey)
    stored = service.recorder.select_notifications(start=0, limit=40)
    events = [mapper.to_domain_event(n) for n in stored if n.topic not in FACT_TOPICS]
    fills = 2000

    def direct_fill() -> None:
        for _ in range(fills):
            p = ProcessingEvent[UUID](None)
            p.events.extend(episode.collect_events())
            p.aggregates[episode.id] = episode
            p.events.extend(events)

    def collect_events() -> None:
        for _ in range(fills):
            ProcessingEvent[UUID](None).collect_events(episode, *events)

    print(f"{len(notes)} facts, {args.rounds} rounds")
    compare("Relay._message", relay_with(True), relay_with(False), len(notes), args.rounds)
    compare("FactReader.decode", decode, to_domain_event, len(notes), args.rounds)
    compare("CareEpisode.__deepcopy__", own_copy, attribute_copy, copies, args.rounds)
    compare("CareEpisodes._save (fill)", direct_fill, collect_events, fills, args.rounds)


if __name__ == "__main__":
    main()
