"""Group commit for single-event posts.

Every write to the store is one transaction, and PostgreSQL (table lock until commit) and
SQLite (one writer) both serialise them: one transaction per HTTP request caps throughput at
the store's transaction rate. Requests that arrive while a transaction is in flight are queued
and recorded together in the next one. If that shared transaction is refused (one event broke
a rule), each event is retried on its own, so a bad event never fails its neighbours and every
client gets exactly the answer it would have got alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Generic, TypeVar

from eventsourcing.persistence import RecordConflictError

from routing.access import Principal
from routing.decisions.cache import Given
from routing.decisions.question import RoutingQuestion
from routing.decisions.record import (
    Decided,
    PendingDecision,
    StoredTemplates,
    insert_decisions,
    pending_decision,
)
from routing.episodes.events import EpisodeEvent
from routing.episodes.service import CareEpisodes, EventRejected, Recorded
from routing.operations import correlation
from routing.operations.metrics import count_accepted

log = logging.getLogger(__name__)

MAX_GROUP = 500
LINGER = 0.002
"""Seconds a flush may wait for a group as large as the last one (see ``GroupCommit``)."""
T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Queues items and records each queue in one call of ``batch`` on the store's writer
    thread; refused groups fall back to ``batch`` of one item each."""

    def __init__(
        self,
        batch: Callable[[list[T]], list[R]],
        executor: ThreadPoolExecutor,
        max_group: int = MAX_GROUP,
        linger: float = LINGER,
    ) -> None:
        self.batch, self.executor, self.max_group = batch, executor, max_group
        self.linger = linger
        # item, its waiter, and the submitter's correlation id (stored with the fact)
        self._queue: list[tuple[T, asyncio.Future[R], str | None]] = []
        self._flushing = False
        self._task: asyncio.Task[None] | None = None
        self._expected = 1
        """How many items the last group held: the size of the wave clients are sending."""
        self._filled: asyncio.Event | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future, correlation.current_id()))
        if self._filled is not None and len(self._queue) >= self._expected:
            self._filled.set()
        if not self._flushing:
            self._flushing = True
            self._task = asyncio.create_task(self._flush())
        return await future

    async def _gathered(self) -> None:
        """Waits (at most ``linger``) until as many items are queued as the last group held.

        Clients that wait for their answer before sending again (every front-end, and a
        closed-loop benchmark) come back one by one after a commit; flushing on the first
        arrival would commit it alone and make the rest wait a whole commit for the next
        group. Under light load the last group held one item and nothing waits."""
        if len(self._queue) >= self._expected or self.linger <= 0:
            return
        self._filled = asyncio.Event()
        try:
            await asyncio.wait_for(self._filled.wait(), self.linger)
        except TimeoutError:
            pass
        finally:
            self._filled = None

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                await self._gathered()
                self._expected = min(len(self._queue), self.max_group)
                group, self._queue = self._queue[: self.max_group], self._queue[self.max_group :]
                items = [e for e, _, _ in group]
                scope = correlation.for_batch(items, [cid for _, _, cid in group])
                try:
                    results = await loop.run_in_executor(
                        self.executor, correlation.run_with(scope, self.batch, items)
                    )
                except (EventRejected, RecordConflictError):  # one item refused or conflicting
                    await self._one_by_one(group)
                    continue
                except Exception as exc:  # the store failed: every waiter learns it
                    for _, future, _ in group:
                        future.set_exception(exc)
                    continue
                for (_, future, _), result in zip(group, results, strict=True):
                    future.set_result(result)
        finally:
            self._flushing = False

    async def _one_by_one(self, group: list[tuple[T, asyncio.Future[R], str | None]]) -> None:
        loop = asyncio.get_running_loop()
        for item, future, cid in group:
            scope = correlation.for_batch([item], [cid])
            try:
                (result,) = await loop.run_in_executor(
                    self.executor, correlation.run_with(scope, self.batch, [item])
                )
                future.set_result(result)
            except Exception as exc:
                future.set_exception(exc)


class GroupCommitWriter:
    """The store's single writer thread and the group commits that use it."""

    def __init__(self, service: CareEpisodes) -> None:
        self.service = service
        self.closed = False
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self.events: GroupCommit[tuple[EpisodeEvent, Principal | None], Recorded] = GroupCommit(
            self._record_events, self.executor
        )
        self.templates = StoredTemplates()
        self.decisions: GroupCommit[PendingDecision, Decided] = GroupCommit(
            lambda items: insert_decisions(service, items, self.templates), self.executor
        )

    async def decide(self, q: RoutingQuestion, given: Given) -> Decided:
        """Records a decision (and the answer given) for audit, once per request id."""
        pending = pending_decision(self.service.mapper, q, given.body, given.template)
        return await self.decisions.submit(pending)

    async def record(self, event: EpisodeEvent, principal: Principal | None = None) -> Recorded:
        return await self.events.submit((event, principal))

    def _record_events(self, items: list[tuple[EpisodeEvent, Principal | None]]) -> list[Recorded]:
        """A later copy of an event id in the same group is a retry: answered as one."""
        events = [e for e, _ in items]
        results = self.service.record_batch(events, principals=[p for _, p in items])
        seen: set[str] = set()
        out = []
        for event, r in zip(events, results, strict=True):
            key = str(event.event_id)
            out.append(r if key not in seen or r.replayed else _as_replay(r))
            seen.add(key)
        new = [e.type for e, r in zip(events, out, strict=True) if not r.replayed]
        count_accepted("http", new)
        log.debug("stored %d new facts of %d posted", len(new), len(events))
        return out

    def close(self) -> None:
        self.closed = True
        self.executor.shutdown(wait=True)


def _as_replay(r: Recorded) -> Recorded:
    return replace(r, replayed=True)
