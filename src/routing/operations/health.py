"""Liveness and readiness.

Live: the process answers (its event loop is not stuck). Ready: it can do its work now: the
event store answers, the broker answers, and (for the API, which serves read models) every
projection is within ``ready_max_projection_lag`` messages of the end of each partition of
the event topic. Projection positions come from the read-model database (they are stored
with the read models); end offsets from the broker.

Results are cached for a moment so that a probe storm never becomes a database or broker
storm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

Positions = dict[str, dict[int, int]]  # projection -> partition -> next offset


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: Any = None


@dataclass(frozen=True)
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ok else "not_ready",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }


class BrokerProbe:
    """One long-lived metadata client: a probe every few seconds must not open a connection
    each time. Reconnects after a failure."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._consumer: AIOKafkaConsumer | None = None

    async def end_offsets(self, topic: str) -> dict[int, int]:
        consumer = await self._client()
        try:
            if not await consumer._client.force_metadata_update():
                raise ConnectionError(f"no broker at {self.bootstrap} answered")
            partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            ends = await consumer.end_offsets(tps) if tps else {}
        except BaseException:
            await self.close()
            raise
        return {tp.partition: int(offset) for tp, offset in ends.items()}

    async def _client(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                enable_auto_commit=False,
                request_timeout_ms=5000,
                connections_max_idle_ms=60_000,
            )
            try:
                await consumer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await consumer.stop()
                raise
            self._consumer = consumer
        return self._consumer

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()


def projection_lag(
    positions: Positions, ends: dict[int, int], projections: list[str]
) -> dict[str, dict[int, int]]:
    """Messages each projection has still to read per partition (never negative: some brokers
    under-report end offsets by their last batch)."""
    return {
        name: {
            p: max(0, end - positions.get(name, {}).get(p, 0)) for p, end in sorted(ends.items())
        }
        for name in projections
    }


class Readiness:
    """The checks of one process. ``ping_store`` raises when the store does not answer;
    ``positions`` (API only) reads the projections' stored positions."""

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
    ) -> None:
        self.ping_store, self.broker, self.topic = ping_store, broker, topic
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
            report = Report(await self._checks())
            self._cached = (time.monotonic(), report)
            if not report.ok:
                failed = {c.name: c.detail for c in report.checks if not c.ok}
                log.warning("not ready: %s", failed)
            return report

    async def _checks(self) -> list[Check]:
        checks = [await self._store()]
        if self.broker is None:
            return [*checks, Check("broker", True, "not configured")]
        try:
            ends = await asyncio.wait_for(self.broker.end_offsets(self.topic), self.timeout)
        except Exception as exc:  # any broker failure means not ready
            await self.broker.close()
            return [*checks, Check("broker", False, _why(exc))]
        checks.append(Check("broker", True, {"partitions": len(ends)}))
        if self.positions is not None and self.max_lag is not None:
            checks.append(await self._projections(ends))
        return checks

    async def _store(self) -> Check:
        try:
            await asyncio.wait_for(asyncio.to_thread(self.ping_store), self.timeout)
        except Exception as exc:  # any store failure means not ready
            return Check("store", False, _why(exc))
        return Check("store", True)

    async def _projections(self, ends: dict[int, int]) -> Check:
        assert self.positions is not None
        assert self.max_lag is not None
        try:
            positions = await asyncio.wait_for(asyncio.to_thread(self.positions), self.timeout)
        except Exception as exc:  # the read-model database did not answer
            return Check("projections", False, _why(exc))
        lag = projection_lag(positions, ends, self.projections)
        worst = {name: max(parts.values(), default=0) for name, parts in lag.items()}
        behind = {name: n for name, n in worst.items() if n > self.max_lag}
        return Check(
            "projections",
            not behind,
            {"max_lag": self.max_lag, "lag": worst, **({"behind": behind} if behind else {})},
        )


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
