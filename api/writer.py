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
from concurrent.futures import ThreadPoolExecutor

from routing.episodes.events import EpisodeEvent
from routing.episodes.service import CareEpisodes, EventRejected, Recorded

MAX_GROUP = 500


class GroupCommitWriter:
    def __init__(self, service: CareEpisodes, max_group: int = MAX_GROUP) -> None:
        self.service = service
        self.max_group = max_group
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="episode-writer")
        self._queue: list[tuple[EpisodeEvent, asyncio.Future[Recorded]]] = []
        self._flushing = False
        self._task: asyncio.Task[None] | None = None

    async def record(self, event: EpisodeEvent) -> Recorded:
        future: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._queue.append((event, future))
        if not self._flushing:
            self._flushing = True
            self._task = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                group, self._queue = self._queue[: self.max_group], self._queue[self.max_group :]
                events = [e for e, _ in group]
                try:
                    results = await loop.run_in_executor(
                        self.executor, self.service.record_batch, events
                    )
                except EventRejected:
                    await self._one_by_one(group)
                    continue
                except Exception as exc:  # the store failed: every waiter learns it
                    for _, future in group:
                        future.set_exception(exc)
                    continue
                seen: set[str] = set()
                for (event, future), result in zip(group, results, strict=True):
                    key = str(event.event_id)
                    replayed = result.replayed or key in seen
                    seen.add(key)
                    future.set_result(result if replayed == result.replayed else _as_replay(result))
        finally:
            self._flushing = False

    async def _one_by_one(self, group: list[tuple[EpisodeEvent, asyncio.Future[Recorded]]]) -> None:
        loop = asyncio.get_running_loop()
        for event, future in group:
            try:
                future.set_result(
                    await loop.run_in_executor(self.executor, self.service.record, event)
                )
            except Exception as exc:
                future.set_exception(exc)

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def _as_replay(r: Recorded) -> Recorded:
    return Recorded(r.event_id, r.episode_id, r.episode_version, r.recorded_at, replayed=True)
