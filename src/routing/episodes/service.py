# Over 300 lines because recording a batch is one unit of consistency.
"""The care-episode application: records facts idempotently and answers what an episode holds.

Synchronous by design (the eventsourcing library is): the API calls it from FastAPI's
threadpool. A batch is one ``save`` and so one database transaction: all of it is stored or
none of it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ProcessRecorder, RecordConflictError, Tracking, Transcoder
from pydantic import BaseModel, ConfigDict

from routing.access import Forbidden, Principal, check_recording
from routing.episodes.aggregate import (
    CareEpisode,
    EventReceipt,
    FactReceipt,
    fingerprint,
    receipt_id,
)
from routing.episodes.events import EpisodeEvent, parse_event
from routing.episodes.journey import EpisodeState, RuleBroken
from routing.kernel.refusals import EventRejected as EventRejected  # its callers import it here
from routing.persistence.chain import plaintext_of
from routing.persistence.chained import chained_process_recorder
from routing.persistence.transcoder import OrjsonTranscoder

MAX_ATTEMPTS = 5


class EventInvalid(EventRejected):
    """Well-formed but implausible (a future occurred_at): the client must fix the body."""

    status = 422


class EventForbidden(EventRejected):
    """The poster's token is not bound to this fact's provider and care region."""

    status = 403


class IdempotencyConflict(EventRejected):
    """The same event id was already used for a different body."""


class EpisodeNotFound(Exception):  # noqa: N818
    pass


@dataclass(frozen=True)
class Recorded:
    event_id: UUID
    episode_id: UUID
    episode_version: int
    recorded_at: datetime
    replayed: bool
    position: int = 0
    """Store position (notification id) at which the write is visible: its transaction's
    last record, or the store's newest for a replayed one (reads take it as min_position)."""


class HistoryEntry(BaseModel):
    """One fact of an episode's history, with both timestamps: the one definition of the
    record, answered by the API's history (``HistoryEntryOut``) and, without ``late``, by
    audit's views (``FactOut``), which name it for their OpenAPI schemas."""

    model_config = ConfigDict(frozen=True)

    version: int
    type: str
    event_id: UUID
    occurred_at: datetime
    recorded_at: datetime
    source: str
    late: bool
    """Occurred before an event that had already been recorded (late documentation, C2)."""
    data: dict[str, Any]


class _StoredFact(Protocol):
    """Both stored episode events (Opened, FactRecorded) carry the fact as sent."""

    fact: dict[str, Any]
    originator_version: int
    timestamp: datetime


def _position(recordings: Sequence[Any]) -> int:
    """The last notification id of a transaction's recordings (0: the recorder gave none)."""
    return max((r.notification.id or 0 for r in recordings), default=0)


class CareEpisodes(Application[UUID]):
    """Records the facts of care episodes."""

    name = "CareEpisodes"
    recorder: ProcessRecorder

    def __init__(self, env: dict[str, str] | None = None, clock_skew_seconds: int = 300) -> None:
        super().__init__(env)
        self.clock_skew = timedelta(seconds=clock_skew_seconds)
        self.on_close: list[Callable[[], None]] = []  # helpers of the store (store.py)

    def close(self) -> None:
        for stop in self.on_close:
            stop()
        super().close()

    def construct_transcoder(self) -> Transcoder:
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_recorder(self) -> ProcessRecorder:
        """A process recorder, so a consumer's position commits with the facts it caused;
        one that keeps the audit hash chain (routing.persistence.chain) with every write, decoding
        stored states the way this application's mapper does (cipher included)."""
        recorder: ProcessRecorder = chained_process_recorder(self.factory)
        recorder.plaintext = plaintext_of(self.mapper)  # type: ignore[attr-defined]
        recorder.seal_unchained()  # type: ignore[attr-defined]
        return recorder

    # --- writing -------------------------------------------------------------------------

    def record(self, event: EpisodeEvent) -> Recorded:
        return self.record_batch([event])[0]

    def record_batch(
        self,
        events: Sequence[EpisodeEvent],
        *,
        tracking: Tracking | None = None,
        principals: Sequence[Principal | None] | None = None,
    ) -> list[Recorded]:
        """Stores every new fact of ``events`` in one transaction, or none of them.

        ``tracking`` (a consumer's position) is written in that same transaction.
        ``principals`` (one per event, from the HTTP edge) are checked against each fact and
        the episode it joins; the inbound topic's producers are trusted by its ACLs instead.

        A fact already recorded with the same event id and body is answered with its original
        receipt. The first attempt trusts the episode's own receipts; a conflicting write
        (another request on the same episode, or the event id used elsewhere) is retried
        against fresh state, this time also consulting the global receipts.
        """
        self._check_plausible(events)
        for attempt in range(MAX_ATTEMPTS):
            fresh = attempt > 0
            try:
                return self._try_record(events, tracking, principals, fresh=fresh)
            except RecordConflictError:
                continue
            except EventRejected:
                if fresh:
                    raise
                # Judged on cached episodes: another process may have recorded what this
                # fact needs. Only a refusal on fresh state is final.
                continue
        raise RecordConflictError(f"gave up after {MAX_ATTEMPTS} conflicting writes")

    def _check_plausible(self, events: Sequence[EpisodeEvent]) -> None:
        latest = datetime.now(UTC) + self.clock_skew
        for i, e in enumerate(events):
            if e.occurred_at > latest:
                raise EventInvalid(
                    i,
                    "occurred_in_future",
                    f"occurred_at {e.occurred_at.isoformat()} lies in the future",
                    field="occurred_at",
                )

    def _try_record(
        self,
        events: Sequence[EpisodeEvent],
        tracking: Tracking | None,
        principals: Sequence[Principal | None] | None,
        *,
        fresh: bool,
    ) -> list[Recorded]:
        batch = _Batch(new=self._new_episodes({e.episode_id for e in events}))
        for i, e in enumerate(events):
            principal = None if principals is None else principals[i]
            self._accept(batch, i, e, principal, fresh=fresh)
        if batch.new_receipts:
            episodes = [ep for ep in batch.episodes.values() if ep is not None]
            position = self._save(tracking, episodes, batch.new_receipts)
        else:
            if tracking is not None:
                self.recorder.insert_tracking(tracking)
            position = self.event_count()
        return batch.results(position)

    def _accept(
        self, b: _Batch, i: int, e: EpisodeEvent, principal: Principal | None, *, fresh: bool
    ) -> None:
        """Item ``i`` of a batch: a repeat (in the batch, or of a fact already recorded) is
        answered as before; otherwise the principal may record it and the journey accepts it
        (RuleBroken: 409), or the whole batch is refused."""
        fact = e.model_dump(mode="json")
        fp = fingerprint(fact)
        if e.event_id in b.in_batch:
            first_fp, first_i = b.in_batch[e.event_id]
            if first_fp != fp:
                raise IdempotencyConflict(
                    i,
                    "event_id_reused",
                    f"event {e.event_id} appears twice with different "
                    f"bodies (items {first_i} and {i})",
                    field="event_id",
                )
            b.pending.append(b.pending[first_i])
            return
        b.in_batch[e.event_id] = (fp, i)
        if e.episode_id not in b.episodes:
            b.episodes[e.episode_id] = (
                None if e.episode_id in b.new else self._load(e.episode_id, fresh=fresh)
            )
        episode = b.episodes[e.episode_id]
        if principal is not None:
            try:
                check_recording(principal, e, None if episode is None else episode.state)
            except Forbidden as refused:
                raise EventForbidden(i, "forbidden", refused.message, refused.field) from None
        earlier = self._earlier_receipt(e, fp, episode, i, consult_receipts=fresh)
        if earlier is not None:
            b.pending.append(
                Recorded(e.event_id, e.episode_id, earlier.version, earlier.recorded_at, True)
            )
            return
        try:
            if episode is None:
                b.episodes[e.episode_id] = CareEpisode.open(e, fact, fp)
            else:
                episode.record(e, fact, fp)
        except RuleBroken as broken:
            raise EventRejected(i, broken.rule, broken.message) from None
        b.new_receipts.append(EventReceipt.claim(e.event_id, e.episode_id, fp))
        b.pending.append((i, e, fp))

    def _save(
        self,
        tracking: Tracking | None,
        episodes: list[CareEpisode],
        receipts: list[Aggregate.Created],
    ) -> int:
        """One transaction for the facts, their receipts and the consumer position. Fills the
        library's ProcessingEvent directly: its ``collect_events`` runs isinstance checks
        against runtime protocols, measured 0.85 ms of a typical batch's 9.2 ms in
        ``record_batch`` (one episode, 11 facts, 11 receipts; 1,000 batches); the direct fill
        10 us (benchmarks/overrides.py, 2026-12-04)."""
        processing = ProcessingEvent[UUID](tracking)
        for episode in episodes:
            processing.events.extend(episode.collect_events())
            processing.aggregates[episode.id] = episode
        processing.events.extend(receipts)
        recordings = self._record(processing)
        # The library caches saved aggregates only without fast-forward; ``_load`` trusts
        # this process's own latest copy first, so keep it (fast-forward still adds others').
        if self.repository.cache is not None:
            for episode in episodes:
                self.repository.cache.put(episode.id, episode)
        return _position(recordings) or self.event_count()

    def _earlier_receipt(
        self,
        e: EpisodeEvent,
        fp: str,
        episode: CareEpisode | None,
        index: int,
        consult_receipts: bool,
    ) -> FactReceipt | None:
        """The original receipt if this fact was recorded before; raises on a changed body."""
        if episode is not None and (r := episode.receipts.get(str(e.event_id))) is not None:
            if r.fingerprint != fp:
                raise IdempotencyConflict(
                    index,
                    "event_id_reused",
                    f"event {e.event_id} was already recorded with a different body",
                    field="event_id",
                )
            return r
        if consult_receipts:
            try:
                claim: EventReceipt = self.repository.get(receipt_id(e.event_id))
            except AggregateNotFoundError:
                return None
            raise IdempotencyConflict(
                index,
                "event_id_reused",
                f"event {e.event_id} was already recorded for episode {claim.episode_id}",
                field="event_id",
            )
        return None

    def _new_episodes(self, episode_ids: set[UUID]) -> set[UUID]:
        """Episodes known not to exist yet, found with one query instead of one per episode
        (where the recorder can). A concurrent creation is still caught by the save."""
        existing = getattr(self.recorder, "existing", None)
        cache = self.repository.cache
        if existing is None or len(episode_ids) < 2:
            return set()
        unseen = []
        for episode_id in episode_ids:
            try:
                if cache is None:
                    raise KeyError(episode_id)
                cache.get(episode_id)
            except KeyError:
                unseen.append(episode_id)
        return set(unseen) - set(existing(unseen))

    def _load(self, episode_id: UUID, *, fresh: bool = True) -> CareEpisode | None:
        """The episode; not ``fresh``: as this process last saw it (cached), without asking
        the store for newer facts. That query was a third of a single event's cost, and it is
        only needed when another process (the ingest consumer) wrote to the same episode:
        then this write conflicts on the episode's version, or a rule refuses it, and
        ``record_batch`` tries again on fresh state."""
        cache = self.repository.cache
        if not fresh and cache is not None:
            try:
                cached = cache.get(episode_id)
            except KeyError:
                pass
            else:
                assert isinstance(cached, CareEpisode)
                return copy.deepcopy(cached)
        try:
            episode: CareEpisode = self.repository.get(episode_id)
        except AggregateNotFoundError:
            return None
        return episode

    # --- reading -------------------------------------------------------------------------

    def episode(self, episode_id: UUID) -> tuple[EpisodeState, int]:
        episode = self._load(episode_id)
        if episode is None:
            raise EpisodeNotFound(str(episode_id))
        return episode.state, episode.version

    def history(self, episode_id: UUID) -> list[HistoryEntry]:
        """Every fact of the episode in recording order, with both timestamps."""
        entries: list[HistoryEntry] = []
        latest: datetime | None = None
        for stored in cast("Iterable[_StoredFact]", self.events.get(episode_id)):
            fact = parse_event(stored.fact)
            late = latest is not None and fact.occurred_at < latest
            latest = fact.occurred_at if latest is None else max(latest, fact.occurred_at)
            entries.append(
                HistoryEntry(
                    version=stored.originator_version,
                    type=fact.type,
                    event_id=fact.event_id,
                    occurred_at=fact.occurred_at,
                    recorded_at=stored.timestamp,
                    source=fact.source,
                    late=late,
                    data=fact.data(),
                )
            )
        if not entries:
            raise EpisodeNotFound(str(episode_id))
        return entries

    def event_count(self) -> int:
        """Position of the last stored record (facts, receipts, decisions and answer
        templates): did anything change?"""
        return self.recorder.max_notification_id() or 0

    def ping(self) -> None:
        """Touches the store; raises if it cannot be reached."""
        self.recorder.max_notification_id()


@dataclass
class _Batch:
    """What recording one batch has gathered so far: the episodes it touches (None: new, not
    opened yet), the receipts it claims, and each item's answer or pending fact."""

    new: set[UUID]
    episodes: dict[UUID, CareEpisode | None] = field(default_factory=dict)
    new_receipts: list[Aggregate.Created] = field(default_factory=list)
    in_batch: dict[UUID, tuple[str, int]] = field(default_factory=dict)
    pending: list[tuple[int, EpisodeEvent, str] | Recorded] = field(default_factory=list)

    def results(self, position: int) -> list[Recorded]:
        """Each item's answer, at the store position the batch reached."""
        results: list[Recorded] = []
        for item in self.pending:
            if isinstance(item, Recorded):
                results.append(replace(item, position=position))
                continue
            _, e, _ = item
            episode = self.episodes[e.episode_id]
            assert episode is not None
            r = episode.receipts[str(e.event_id)]
            results.append(
                Recorded(e.event_id, e.episode_id, r.version, r.recorded_at, False, position)
            )
        return results
