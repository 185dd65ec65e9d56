# Over 300 lines because readiness is one report over every component.
"""Liveness and readiness.

Live: the process answers (its event loop is not stuck). Ready: it can do its work now: the
event store answers, the broker answers and is the cluster the relay and the ingest consumer
last wrote down (a replaced broker is not ready until they have noticed and started over), no
component reported a fault it is still healing (``report_problem``: a projection whose offset
is no longer in the log), and (for the API, which serves read models) every projection is
within ``ready_max_projection_lag`` messages of the end of each partition of the event topic
and none is positioned below the log's start. Projection positions and epochs come from the
read-model database; the ends from the broker, corrected for brokers that under-report them
(``broker.true_end_offsets``). A projection built from an older relay epoch than the relay's
has the whole partition still to read.

Results are cached for a moment so that a probe storm never becomes a database or broker
storm; each answer says when its checks began (``checked_at``), so a reader can tell a cached
answer from one taken after something it waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from routing.messaging import broker as kafka
from routing.messaging.progress import ProgressStore

log = logging.getLogger(__name__)

Positions = dict[str, dict[int, int]]  # projection -> partition -> next offset

_problems: dict[str, str] = {}


def report_problem(key: str, reason: str) -> None:
    """A fault this process is handling (readiness says so, naming it, until cleared)."""
    _problems[key] = reason


def clear_problem(key: str) -> None:
    _problems.pop(key, None)


def problems() -> dict[str, str]:
    return dict(_problems)


@dataclass(frozen=True)
class Seen:
    """What the store says the processes last saw of the broker."""

    relay_cluster: str | None = None
    relay_epoch: int | None = None
    ingest_cluster: str | None = None


@dataclass(frozen=True)
class LogBounds:
    starts: dict[int, int]
    ends: dict[int, int]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: Any = None


@dataclass(frozen=True)
class Report:
    checks: list[Check] = field(default_factory=list)
    checked_at: float = 0.0
    """Unix time when the checks began: everything they read is at least this recent."""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ok else "not_ready",
            "checked_at": datetime.fromtimestamp(self.checked_at, UTC).isoformat(),
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }


class BrokerProbe:
    """One long-lived metadata client: a probe every few seconds must not open a connection
    each time. Reconnects after a failure."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._consumer: AIOKafkaConsumer | None = None
        self._watch = kafka.ClusterWatch(bootstrap)

    async def end_offsets(self, topic: str) -> dict[int, int]:
        return (await self.bounds(topic)).ends

    async def bounds(self, topic: str) -> LogBounds:
        """First and (real) next offset of each partition of ``topic``."""
        consumer = await self._client()
        try:
            if not await consumer._client.force_metadata_update():
                raise ConnectionError(f"no broker at {self.bootstrap} answered")
            partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            ends = await kafka.true_end_offsets(consumer, tps)
            starts = await consumer.beginning_offsets(tps) if tps else {}
        except BaseException:
            await self.close()
            raise
        return LogBounds(
            {tp.partition: int(o) for tp, o in starts.items()},
            {tp.partition: int(o) for tp, o in ends.items()},
        )

    async def cluster_id(self) -> str:
        return await self._watch.cluster_id()

    async def _client(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                enable_auto_commit=False,
                request_timeout_ms=5000,
                connections_max_idle_ms=60_000,
                fetch_max_wait_ms=20,  # the probe's fetch at the end only wants the watermark
            )
            self._consumer = await kafka.started(consumer)
        return self._consumer

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        await self._watch.close()
        if consumer is not None:
            with contextlib.suppress(Exception):
                await kafka.stopped(consumer)


def projection_lag(
    positions: Positions,
    ends: dict[int, int],
    projections: list[str],
    *,
    epochs: dict[str, int] | None = None,
    relay_epoch: int | None = None,
) -> dict[str, dict[int, int]]:
    """Messages each projection has still to read per partition, never negative. A projection
    built from an older relay epoch than the relay's has to read every partition again from
    its start (its positions belong to a log the broker lost)."""

    def behind(name: str, p: int, end: int) -> int:
        stale = relay_epoch is not None and (epochs or {}).get(name) != relay_epoch
        return end if stale else max(0, end - positions.get(name, {}).get(p, 0))

    return {
        name: {p: behind(name, p, end) for p, end in sorted(ends.items())} for name in projections
    }


def below_start(
    positions: Positions, starts: dict[int, int], projections: list[str]
) -> dict[str, dict[int, int]]:
    """Partitions where a projection's next offset is no longer in the log (removed by
    retention, compaction, DeleteRecords or a broker that lost records): name -> partition ->
    the log's first offset."""
    out: dict[str, dict[int, int]] = {}
    for name in projections:
        for p, start in starts.items():
            if positions.get(name, {}).get(p, 0) < start:
                out.setdefault(name, {})[p] = start
    return out


class Readiness:
    """The checks of one process. ``ping_store`` raises when the store does not answer;
    ``seen`` reads what the store says the relay and ingest last saw of the broker;
    ``positions`` and ``epochs`` (API only) read the projections' stored positions and
    relay epochs."""

    def __init__(
        self,
        *,
        ping_store: Callable[[], None],
        broker: BrokerProbe | None,
        topic: str,
        timeout: float,
        positions: Callable[[], Positions] | None = None,
        projections: list[str] | None = None,
        max_lag: int | None = None,
        cache_seconds: float = 1.0,
        seen: Callable[[], Seen] | None = None,
        epochs: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.ping_store, self.broker, self.topic = ping_store, broker, topic
        self.seen, self.epochs = seen, epochs
        self.timeout, self.positions = timeout, positions
        self.projections, self.max_lag = projections or [], max_lag
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, Report] | None = None
        self._lock = asyncio.Lock()

    def forget(self) -> None:
        """Drops the cached result: the next report checks again."""
        self._cached = None

    async def report(self) -> Report:
        async with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            began = time.time()
            report = Report(await self._checks(), checked_at=began)
            self._cached = (time.monotonic(), report)
            if not report.ok:
                failed = {c.name: c.detail for c in report.checks if not c.ok}
                log.warning("not ready: %s", failed)
            return report

    async def _checks(self) -> list[Check]:
        checks = [await self._store()]
        if _problems:
            checks.append(Check("faults", False, problems()))
        if self.broker is None:
            return [*checks, Check("broker", True, "not configured")]
        try:
            bounds = await asyncio.wait_for(self.broker.bounds(self.topic), self.timeout)
            cluster = await asyncio.wait_for(self.broker.cluster_id(), self.timeout)
        except Exception as exc:  # any broker failure means not ready
            await self.broker.close()
            return [*checks, Check("broker", False, _why(exc))]
        checks.append(Check("broker", True, {"partitions": len(bounds.ends), "cluster": cluster}))
        seen = Seen()
        if self.seen is not None:
            try:
                seen = await asyncio.wait_for(asyncio.to_thread(self.seen), self.timeout)
            except Exception as exc:  # the store did not answer: the store check says so
                log.debug("readiness: what the processes saw is unknown: %r", exc)
            checks.append(_identity(cluster, seen))
        if self.positions is not None and self.max_lag is not None:
            checks.append(await self._projections(bounds, seen.relay_epoch))
        return checks

    async def _store(self) -> Check:
        try:
            await asyncio.wait_for(asyncio.to_thread(self.ping_store), self.timeout)
        except Exception as exc:  # any store failure means not ready
            return Check("store", False, _why(exc))
        return Check("store", True)

    async def _projections(self, bounds: LogBounds, relay_epoch: int | None) -> Check:
        assert self.positions is not None
        assert self.max_lag is not None
        try:
            positions = await asyncio.wait_for(asyncio.to_thread(self.positions), self.timeout)
            epochs = (
                await asyncio.wait_for(asyncio.to_thread(self.epochs), self.timeout)
                if self.epochs is not None
                else None
            )
        except Exception as exc:  # the read-model database did not answer
            return Check("projections", False, _why(exc))
        lag = projection_lag(
            positions, bounds.ends, self.projections, epochs=epochs, relay_epoch=relay_epoch
        )
        worst = {name: max(parts.values(), default=0) for name, parts in lag.items()}
        behind = {name: n for name, n in worst.items() if n > self.max_lag}
        missing = below_start(positions, bounds.starts, self.projections)
        detail: dict[str, Any] = {"max_lag": self.max_lag, "lag": worst}
        if behind:
            detail["behind"] = behind
        if missing:
            detail["offset_missing"] = {
                name: {
                    p: f"next offset below the log's start {start}" for p, start in parts.items()
                }
                for name, parts in missing.items()
            }
        return Check("projections", not behind and not missing, detail)


def _identity(cluster: str, seen: Seen) -> Check:
    """Whether the broker is the cluster the relay and the ingest consumer last wrote down."""
    saw = {"relay": seen.relay_cluster, "ingest": seen.ingest_cluster}
    stale = {who: c for who, c in saw.items() if c is not None and c != cluster}
    detail: dict[str, Any] = {"cluster": cluster, "last_seen": saw}
    if stale:
        detail["reason"] = (
            "the broker is another cluster than the one "
            + " and ".join(sorted(stale))
            + " last saw: a replaced broker, not yet noticed"
        )
    return Check("broker_identity", not stale, detail)


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def store_seen(service: Any, events_topic: str, inbound_topic: str) -> Callable[[], Seen]:
    """Reads what the relay and ingest last saw of the broker from the store (their progress
    rows), for ``Readiness(seen=...)``."""
    store: ProgressStore | None = None

    def read() -> Seen:
        nonlocal store
        store = store or ProgressStore(service)
        relay = store.load(events_topic)
        ingest = store.load_ingest(inbound_topic)
        return Seen(relay.cluster_id, relay.epoch if relay.cluster_id else None, ingest.cluster_id)

    return read
