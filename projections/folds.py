"""The one per-episode fold every fact-keeping projection uses, refolded from its facts table
on a miss, and the event types each projection is handed, derived from its folds.

``add`` keeps each fact (buffered, written by ``write`` with the page) and folds it into the
episode's state; the projection then decides what the changed contacts (or the touched
episodes) mean: liability decides, necessity classifies, the care guarantee and the
indicators compute their rows once per touched episode when the page is written.

Each fold class declares ``READS``, the event types it folds (any other leaves it as it
was; tests/unit/test_fold_reads.py holds both halves true). A projection's ``interesting``
set is ``reads(...)`` of its folds: what it keeps in its facts table and is handed.

The projection is the only writer of its partitions, so a fold it remembers stays true; the
worker calls ``discard_cache`` (and so ``clear``) when a transaction fails. Evicted episodes
are refolded from the table, which is why a miss flushes the page's buffered facts first.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from projections.db import Cursor
from projections.tables import table
from routing.episodes.events import EpisodeEvent, parse_stored_event
from routing.guarantee.facts import GuaranteeFacts
from routing.messaging.envelope import CloudEvent

CACHE_EPISODES = 20_000


class Fold(Protocol):
    READS: ClassVar[frozenset[str]]

    def apply(self, e: EpisodeEvent, recorded_at: datetime | None = None) -> set[str]: ...


F = TypeVar("F", bound=Fold)


def reads(*folds: type[Fold]) -> frozenset[str]:
    """The event types a projection built on ``folds`` needs: every type one of them reads."""
    return frozenset().union(*(fold.READS for fold in folds))


class ClockFacts:
    """An episode's facts that the care-guarantee clocks read, in recording order: the clocks
    compare valid times, so ``episode_clocks`` folds them all again whenever one arrives."""

    READS: ClassVar[frozenset[str]] = GuaranteeFacts.READS

    def __init__(self, episode: str) -> None:
        self.episode = episode
        self.facts: list[EpisodeEvent] = []

    def apply(self, e: EpisodeEvent, recorded_at: datetime | None = None) -> set[str]:
        if e.type in self.READS:
            self.facts.append(e)
        return set()


class EpisodeFolds(Generic[F]):
    """Per episode, the fold of its facts kept so far (an LRU), and the page's facts buffered
    for the facts table. ``recorded``: the table keeps each fact's recording time (the
    care-guarantee table never did: its clocks do not read it). ``track``: remember the
    episodes a page touched, for projections that recompute whole episodes when it is
    written (``take_touched``)."""

    def __init__(
        self, facts_table: str, new: Callable[[str], F], *, recorded: bool = True,
        track: bool = False,
    ) -> None:  # fmt: skip
        self.facts_table, self.new = facts_table, new
        self.recorded, self.track = recorded, track
        self._folds: OrderedDict[str, F] = OrderedDict()
        self._rows: list[tuple[Any, ...]] = []
        self.touched: dict[str, F] = {}
        """The episodes folded since the page was last written (``take_touched``)."""

    def _keep(self, episode: str, e: CloudEvent) -> None:
        if self.recorded:
            row: tuple[Any, ...] = (
                episode, e.storeposition, e.recordedat.isoformat(), e.fact_json()
            )  # fmt: skip
        else:
            row = (episode, e.storeposition, e.fact_json())
        self._rows.append(row)

    def add(
        self, cur: Cursor, suffix: str, event: CloudEvent, flush: Callable[[], None]
    ) -> tuple[F, set[str]]:
        """Keeps and folds one fact; returns the episode's fold and the contacts it changed."""
        episode, fact = str(event.subject), event.fact()
        self._keep(episode, event)
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
        for e in group:
            self._keep(episode, e)
        fold = (
            self.new(episode)
            if first.episodeversion == 1
            else self.get(cur, suffix, episode, first.storeposition, flush)
        )
        contacts = fold.contacts  # type: ignore[attr-defined]
        states: dict[str, list[tuple[Any, datetime]]] = {}
        for e in group:
            for contact in fold.apply(e.fact(), e.recordedat):
                state = contacts[contact]
                if wanted(state):
                    states.setdefault(contact, []).append((state, e.recordedat))
        self.remember(episode, fold)
        return states

    def write(self, cur: Cursor, suffix: str) -> None:
        """Writes the buffered facts in one pipelined statement (``insert_rows``: on
        PostgreSQL one executemany; ``write_rows``' text arrays escaped every quote of the
        facts' JSON in Python, which cost the indicators' table more than the rest of a page)."""
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
        binds = {"episode": episode, "before": before}
        where = "WHERE episode_id = :episode AND position < :before ORDER BY position"
        if self.recorded:
            cur.execute(f"SELECT recorded_at, fact FROM {self.facts_table}{suffix} {where}", binds)
            for recorded_at, fact in cur.fetchall():
                fold.apply(
                    parse_stored_event(json.loads(fact)), datetime.fromisoformat(recorded_at)
                )
        else:
            cur.execute(f"SELECT fact FROM {self.facts_table}{suffix} {where}", binds)
            for (fact,) in cur.fetchall():
                fold.apply(parse_stored_event(json.loads(fact)))
        return fold

    def remember(self, episode: str, fold: F) -> None:
        self._folds[episode] = fold
        if self.track:
            self.touched[episode] = fold
        if len(self._folds) > CACHE_EPISODES:
            self._folds.popitem(last=False)

    def take_touched(self) -> dict[str, F]:
        """The episodes folded since the last call (the page's), forgotten here."""
        touched, self.touched = self.touched, {}
        return touched

    def clear(self) -> None:
        self._folds.clear()
        self._rows.clear()
        self.touched.clear()
