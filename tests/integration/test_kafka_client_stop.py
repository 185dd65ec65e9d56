"""A consumer stopped after a real broker loss (aiokafka 0.14 on the bundled broker).

aiokafka's ``AIOKafkaConsumer.stop()`` cancels its fetch task and awaits it; when the fetch was
sleeping its retry backoff after the broker went away, the CancelledError reaches the caller,
whose task nobody cancelled (aio-libs/aiokafka#647). A CI run on 4 Dec 2026 lost its relay
that way: the relay's broker check stopped a consumer just after the broker stopped, and the
relay's task ended as if cancelled, without a log line. ``broker.stopped`` is how our
consumers are stopped; this test holds it to a real client and a real broker."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from routing.messaging import broker
from routing.messaging.bundled import BundledBroker
from routing.operations import resilience

pytestmark = pytest.mark.kafka

BACKOFF_MS = 5_000
"""Long enough that each consumer is still sleeping it when it is stopped."""


async def _fetching(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """A consumer assigned to ``topic``'s partition 0 that has fetched from it."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, retry_backoff_ms=BACKOFF_MS
    )
    await consumer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    assert (await consumer.getmany(tp, timeout_ms=5_000))[tp], "the record was fetched"
    return consumer


@pytest.mark.asyncio
async def test_a_consumer_stopped_after_a_broker_loss_leaves_its_caller_running(
    bundled_broker: BundledBroker, kafka_names: dict[str, str]
) -> None:
    bootstrap, topic = bundled_broker.bootstrap_servers, kafka_names["events_topic"]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"a record", partition=0)
    finally:
        await producer.stop()
    plain, ours = await _fetching(bootstrap, topic), await _fetching(bootstrap, topic)

    bundled_broker.stop()
    await asyncio.sleep(1.5)  # each fetch fails and sleeps its backoff

    with pytest.raises(asyncio.CancelledError):  # the library's own behaviour, the reason
        await plain.stop()
    assert plain._client._sync_task is not None, "and it left its client open"
    await plain._client.close()

    await broker.stopped(ours)  # returns: the made-up cancellation is dropped
    assert not resilience.cancelled_by_us()
    assert ours._closed
    assert ours._client._sync_task is None, "the client's metadata task is gone"
    assert not any(conn.connected() for conn in ours._client._conns.values())
    assert all(task.done() for task in ours._fetcher._pending_tasks)
