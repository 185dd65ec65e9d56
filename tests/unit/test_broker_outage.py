"""The one broker-outage policy (resilience.through_broker_outage) of relay, ingest and runners."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiokafka.errors import KafkaConnectionError

from routing.messaging import broker
from routing.operations import resilience

log = logging.getLogger("test.broker_outage")


@pytest.mark.asyncio
async def test_tried_again_until_the_broker_answers_each_failure_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures = [KafkaConnectionError("refused"), ConnectionRefusedError("refused")]

    async def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "answered"

    caplog.set_level(logging.WARNING, logger=log.name)
    result = await resilience.through_broker_outage("relay", attempt, asyncio.Event(), log)
    assert result == "answered"
    lines = [r.getMessage() for r in caplog.records if r.name == log.name]
    assert len(lines) == 2
    assert lines[0].startswith("relay: broker unavailable (KafkaConnectionError")
    assert "(attempt 2)" in lines[1]


@pytest.mark.asyncio
async def test_stop_ends_the_wait_without_an_error() -> None:
    stop = asyncio.Event()

    async def attempt() -> None:
        stop.set()
        raise KafkaConnectionError("refused")

    assert await resilience.through_broker_outage("ingest", attempt, stop, log) is None


@pytest.mark.asyncio
async def test_other_errors_are_not_tried_again() -> None:
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError, match="a bug"):
        await resilience.through_broker_outage("runner", attempt, asyncio.Event(), log)
    assert calls == 1


@pytest.mark.asyncio  # the client wants a running loop
async def test_every_group_consumer_is_configured_alike() -> None:
    consumer = broker.group_consumer("127.0.0.1:9", "routing-projection-x")
    assert consumer._group_id == "routing-projection-x"
    assert consumer._enable_auto_commit is False
    assert consumer._isolation_level == "read_uncommitted"
    assert consumer._session_timeout_ms == broker.SESSION_TIMEOUT_MS
    assert consumer._client._metadata_max_age_ms == broker.METADATA_MAX_AGE_MS


async def _a_cancelled_fetch() -> None:
    """What aiokafka's ``Fetcher.close`` does after a broker loss: cancels its fetch task,
    which is sleeping its retry backoff, and awaits it: CancelledError in the caller, though
    nobody cancelled the caller."""
    fetch = asyncio.ensure_future(asyncio.sleep(60))
    await asyncio.sleep(0)
    fetch.cancel()
    await fetch


@pytest.mark.asyncio
async def test_a_cancellation_a_client_makes_up_is_an_outage_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await _a_cancelled_fetch()
        return "answered"

    caplog.set_level(logging.WARNING, logger=log.name)
    result = await resilience.through_broker_outage("relay", attempt, asyncio.Event(), log)
    assert (result, calls) == ("answered", 2)
    [line] = [r.getMessage() for r in caplog.records if r.name == log.name]
    assert line.startswith("relay: broker unavailable (ClientCancelledError")


@pytest.mark.asyncio
async def test_a_worker_that_is_cancelled_is_still_cancelled() -> None:
    started = asyncio.Event()

    async def attempt() -> None:
        started.set()
        await asyncio.sleep(60)

    worker = asyncio.ensure_future(
        resilience.through_broker_outage("relay", attempt, asyncio.Event(), log)
    )
    await started.wait()
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    assert worker.cancelled()


class _Client:
    closed = False

    async def close(self) -> None:
        self.closed = True


class _Fetcher:
    def __init__(self) -> None:
        self._pending_tasks = {asyncio.ensure_future(asyncio.sleep(60))}


class _Consumer:
    """A consumer whose ``stop()`` behaves as aiokafka's does after a broker loss (it leaves
    a fetch pending and its client open), or takes long enough to be cancelled meanwhile."""

    def __init__(self, stop: str) -> None:
        self.how = stop
        self._client, self._fetcher = _Client(), _Fetcher()

    async def stop(self) -> None:
        if self.how == "cancelled fetch":
            await _a_cancelled_fetch()
        else:
            await asyncio.sleep(60)


@pytest.mark.asyncio
async def test_a_consumer_is_stopped_without_the_cancellation_its_client_made_up() -> None:
    consumer = _Consumer("cancelled fetch")
    await broker.stopped(consumer)  # type: ignore[arg-type]
    assert not resilience.cancelled_by_us()
    assert consumer._client.closed, "what stop() left undone is done"
    assert all(task.cancelled() for task in consumer._fetcher._pending_tasks)


@pytest.mark.asyncio
async def test_stopping_a_consumer_can_still_be_cancelled() -> None:
    consumer = _Consumer("slow")
    stopping = asyncio.ensure_future(broker.stopped(consumer))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert stopping.cancelled()
    assert not consumer._client.closed, "a cancelled stop is not finished on its behalf"
    for task in consumer._fetcher._pending_tasks:
        task.cancel()
