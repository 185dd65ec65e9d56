"""Per-episode folds a projection keeps between pages, refolded from its facts table on a miss.

``add`` keeps each fact (buffered, written by ``write`` with the page) and folds it into the
episode's state; the projection then decides what the changed contacts mean.

The projection is the only writer of its partitions, so a fold it remembers stays true; the
worker calls ``discard_cache`` (and so ``clear``) when a transaction fails. Evicted episodes
are refolded from the table, which is why a miss flushes the page's buffered facts first.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from projections.db import Cursor
from projections.tables import table
from routing.episodes.events import EpisodeEvent, parse_stored_event
from routing.messaging.envelope import CloudEvent

CACHE_EPISODES = 20_000


class Fold(Protocol):
    @property
    def contacts(self) -> Mapping[str, Any]: ...

    def apply(self, e: EpisodeEvent, recorded_at: datetime | None = None) -> set[str]: ...


F = TypeVar("F", bound=Fold)


class EpisodeFolds(Generic[F]):
    def __init__(self, facts_table: str, new: Callable[[str], F]) -> None:
        self.facts_table, self.new = facts_table, new
        self._folds: OrderedDict[str, F] = OrderedDict()
        self._rows: list[tuple[str, int, str, str]] = []

    def add(
        self, cur: Cursor, suffix: str, event: CloudEvent, flush: Callable[[], None]
    ) -> tuple[F, set[str]]:
        """Keeps and folds one fact; returns the episode's fold and the contacts it changed."""
        episode, fact = str(event.subject), event.fact()
        self._rows.append(
            (episode, event.storeposition, event.recordedat.isoformat(), event.fact_json())
        )
        fold = (
            self.new(episode)  # an episode's first fact: nothing to read back
            if event.episodeversion == 1
            else self.get(cur, suffix, episode, event.storeposition, flush)
        )
        changed = fold.apply(fact, event.recordedat)
        self.remember(episode, fold)
        return fold, changed

    def add_group(
        self,
        cur: Cursor,
        suffix: str,
        group: Sequence[CloudEvent],
        flush: Callable[[], None],
        wanted: Callable[[Any], bool],
    ) -> dict[str, list[tuple[Any, datetime]]]:
        """Keeps and folds one episode's facts of a page (in store order) as ``add`` would
        one by one. Returns, per contact, its ``wanted`` states right after each fact that
        changed it, with that fact's recording time, in order: the states a fact-by-fact
        fold decided, so deciding only the last gives the row it left behind."""
        first, episode = group[0], str(group[0].subject)
        self._rows.extend(
            (episode, e.storeposition, e.recordedat.isoformat(), e.fact_json()) for e in group
        )
        fold = (
            self.new(episode)
            if first.episodeversion == 1
            else self.get(cur, suffix, episode, first.storeposition, flush)
        )
        states: dict[str, list[tuple[Any, datetime]]] = {}
        for e in group:
            for contact in fold.apply(e.fact(), e.recordedat):
                state = fold.contacts[contact]
                if wanted(state):
                    states.setdefault(contact, []).append((state, e.recordedat))
        self.remember(episode, fold)
        return states

    def write(self, cur: Cursor, suffix: str) -> None:
        """Writes the buffered facts in one pipelined statement."""
        if self._rows:
            cur.insert_rows(
                table(self.facts_table, suffix),
                self._rows,
                "ON CONFLICT (episode_id, position) DO NOTHING",
            )
            self._rows.clear()

    def get(
        self, cur: Cursor, suffix: str, episode: str, before: int, flush: Callable[[], None]
    ) -> F:
        """The fold of the episode's facts stored before position ``before``."""
        cached = self._folds.get(episode)
        if cached is not None:
            self._folds.move_to_end(episode)
            return cached
        flush()  # the episode's earlier facts may still be buffered
        fold = self.new(episode)
        cur.execute(
            f"SELECT recorded_at, fact FROM {self.facts_table}{suffix} "
            "WHERE episode_id = :episode AND position < :before ORDER BY position",
            {"episode": episode, "before": before},
        )
        for recorded_at, fact in cur.fetchall():
            fold.apply(parse_stored_event(json.loads(fact)), datetime.fromisoformat(recorded_at))
        return fold

    def remember(self, episode: str, fold: F) -> None:
        self._folds[episode] = fold
        if len(self._folds) > CACHE_EPISODES:
            self._folds.popitem(last=False)

    def clear(self) -> None:
        self._folds.clear()
        self._rows.clear()
