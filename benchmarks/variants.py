"""What-if variants of the API, to measure suggested fixes before making them. NOT production code.

    ROUTING_BENCH_VARIANTS=coalesce,asyncdep,fastcopy,noprotocol \\
        python benchmarks/ingest.py --app benchmarks.variants:app

Each comma-separated flag monkeypatches one thing in the server process only:

* ``fastcopy``      CareEpisode gets a ``__deepcopy__`` that copies only the mutable parts
                    (the library deep-copies every cached aggregate it hands out).
* ``noprotocol``    ProcessingEvent.collect_events without ``isinstance`` checks against
                    runtime-checkable Protocols (very slow on Python 3.11).
* ``rawreceipt``    the uniqueness receipt is saved as a bare ``Claimed`` event, without
                    building an EventReceipt aggregate object.
* ``nofastforward`` AGGREGATE_CACHE_FASTFORWARD=n: no SELECT per cached load (one process only).
* ``skipload``      an episode absent from the cache is taken as new, without a SELECT: the upper
                    bound of one bulk "which of these episodes exist" query per batch. UNSAFE.
* ``asyncdep``      the service dependency is ``async def`` (FastAPI runs a sync dependency in
                    the threadpool, one more thread hop per request).
* ``coalesce``      POST /events is ``async def`` and hands its event to one writer thread that
                    records everything queued meanwhile in one ``record_batch`` (group commit);
                    a refused batch falls back to one transaction per event.
"""

# No `from __future__ import annotations`: FastAPI must resolve the local Annotated aliases.
import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Request

from routing import config
from routing.episodes import aggregate as agg
from routing.episodes import service as svc
from routing.episodes.events import AnyEpisodeEvent, EpisodeEvent
from routing.episodes.journey import EpisodeState

FLAGS = {f for f in os.environ.get("ROUTING_BENCH_VARIANTS", "").split(",") if f}
KNOWN = {
    "fastcopy",
    "noprotocol",
    "rawreceipt",
    "nofastforward",
    "skipload",
    "asyncdep",
    "coalesce",
}
if FLAGS - KNOWN:
    raise SystemExit(f"unknown variants: {sorted(FLAGS - KNOWN)}")


def _copy_state(s: EpisodeState) -> EpisodeState:
    return replace(
        s,
        contacts={
            k: replace(c, offers=[replace(o, modes=list(o.modes)) for o in c.offers])
            for k, c in s.contacts.items()
        },
        referrals={k: replace(r) for k, r in s.referrals.items()},
        treatments=dict(s.treatments),
    )


def _fast_deepcopy(self: agg.CareEpisode, memo: dict[int, Any]) -> agg.CareEpisode:
    new = object.__new__(type(self))
    state = dict(self.__dict__)
    state["receipts"] = dict(self.receipts)  # FactReceipt is frozen
    state["state"] = _copy_state(self.state)
    if "_pending_events" in state:
        state["_pending_events"] = list(state["_pending_events"])
    new.__dict__.update(state)
    return new


def _install_model_patches() -> None:
    if "fastcopy" in FLAGS:
        agg.CareEpisode.__deepcopy__ = _fast_deepcopy  # type: ignore[attr-defined]
    if "noprotocol" in FLAGS:
        from eventsourcing import application as es_app
        from eventsourcing.domain import CanMutateAggregate

        def collect_events(self: Any, *objs: Any, **kwargs: Any) -> None:
            for obj in objs:
                if obj is None:
                    continue
                if isinstance(obj, CanMutateAggregate):
                    self.events.append(obj)
                else:
                    self.events.extend(obj.collect_events())
                    self.aggregates[obj.id] = obj
            self.saved_kwargs.update(kwargs)

        es_app.ProcessingEvent.collect_events = collect_events  # type: ignore[method-assign]
    if "rawreceipt" in FLAGS:
        from eventsourcing.utils import get_topic

        topic, claimed = get_topic(agg.EventReceipt), agg.EventReceipt.Claimed  # type: ignore[attr-defined]

        def receipt(event_id: str, episode_id: str, fingerprint: str) -> Any:
            return claimed(  # type: ignore[call-arg]
                originator_id=agg.receipt_id(UUID(event_id)),
                originator_version=1,
                timestamp=claimed.create_timestamp(),
                originator_topic=topic,
                event_id=event_id,
                episode_id=episode_id,
                fingerprint=fingerprint,
            )

        svc.EventReceipt = receipt  # type: ignore[assignment,misc,attr-defined]
    if "nofastforward" in FLAGS:
        original = config.Settings.persistence_env

        def persistence_env(self: config.Settings) -> dict[str, str]:
            return {**original(self), "AGGREGATE_CACHE_FASTFORWARD": "n"}

        config.Settings.persistence_env = persistence_env  # type: ignore[method-assign]
    if "skipload" in FLAGS:
        load = svc.CareEpisodes._load

        def skipping_load(self: svc.CareEpisodes, episode_id: UUID) -> agg.CareEpisode | None:
            try:
                self.repository.cache.get(episode_id)  # type: ignore[union-attr]
            except KeyError:
                return None
            return load(self, episode_id)

        svc.CareEpisodes._load = skipping_load  # type: ignore[method-assign]


class Coalescer:
    """Group commit: events posted while the writer is busy go into its next transaction."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="writer")
        self.queue: list[tuple[EpisodeEvent, asyncio.Future[svc.Recorded]]] = []
        self.busy = False
        self.task: asyncio.Task[None] | None = None

    async def record(self, episodes: svc.CareEpisodes, event: EpisodeEvent) -> svc.Recorded:
        future: asyncio.Future[svc.Recorded] = asyncio.get_running_loop().create_future()
        self.queue.append((event, future))
        if not self.busy:
            self.busy = True
            self.task = asyncio.ensure_future(self._flush(episodes))
        return await future

    async def _flush(self, episodes: svc.CareEpisodes) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.queue:
                items, self.queue = self.queue[:500], self.queue[500:]
                events = [e for e, _ in items]
                try:
                    results = await loop.run_in_executor(self.pool, episodes.record_batch, events)
                except Exception:  # one refused event must not fail the others
                    for e, fut in items:
                        try:
                            fut.set_result(
                                await loop.run_in_executor(self.pool, episodes.record, e)
                            )
                        except Exception as exc:
                            fut.set_exception(exc)
                    continue
                for (_, fut), r in zip(items, results, strict=True):
                    fut.set_result(r)
        finally:
            self.busy = False


def _install_routes() -> None:
    from api.deps import Episodes as SyncEpisodes
    from api.routes import events as routes

    async def _episodes(request: Request) -> svc.CareEpisodes:
        service: svc.CareEpisodes = request.app.state.episodes
        return service

    episodes_dep: Any = (
        Annotated[svc.CareEpisodes, Depends(_episodes)] if "asyncdep" in FLAGS else SyncEpisodes
    )
    if "coalesce" not in FLAGS and "asyncdep" not in FLAGS:
        return
    router = APIRouter(prefix="/events", tags=["events"])
    coalescer = Coalescer()

    async def post_event_coalesced(
        episodes: episodes_dep, event: Annotated[AnyEpisodeEvent, Body()]
    ) -> routes.RecordedOut:
        return routes._out(await coalescer.record(episodes, event))

    def post_event(
        episodes: episodes_dep, event: Annotated[AnyEpisodeEvent, Body()]
    ) -> routes.RecordedOut:
        return routes._out(episodes.record(event))

    def post_batch(episodes: episodes_dep, batch: routes.BatchIn) -> routes.BatchOut:
        return routes.post_batch(episodes, batch)

    single = post_event_coalesced if "coalesce" in FLAGS else post_event
    router.add_api_route(
        "", single, methods=["POST"], status_code=201, response_model=routes.RecordedOut
    )
    router.add_api_route(
        "/batch", post_batch, methods=["POST"], status_code=201, response_model=routes.BatchOut
    )
    routes.router = router


_install_model_patches()
_install_routes()

from api.main import app  # noqa: E402  (built after the patches, from ROUTING_* variables)

__all__ = ["app"]
