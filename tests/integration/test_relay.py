"""The outbox relay against a real broker and a real store (a SQLite file, PostgreSQL).

Every stored fact must reach the event topic once (no faults here, so exactly once), keyed by
its episode, in store order per episode, as a CloudEvent whose attributes match the store;
receipts (bookkeeping aggregates in the same notification log) never leave the store.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner

from routing.config import Settings
from routing.episodes.events import parse_event
from routing.episodes.service import CareEpisodes
from routing.messaging import broker
from routing.messaging.bundled import BundledBroker
from routing.messaging.envelope import CONTENT_TYPE, TYPE_PREFIX, decode
from routing.store import FACT_TOPICS, open_episodes
from tests import kafka_support as ks
from tests import support as f

pytestmark = pytest.mark.kafka


def record_mixed(service: CareEpisodes) -> None:
    """Hand-made journeys (with an idempotent repeat and a refused fact) plus demo episodes."""
    journeys = [f.typical_journey() for _ in range(3)]
    for journey in journeys:
        service.record_batch([parse_event(b) for b in journey])
    # A repeat of an already recorded fact: answered from its receipt, stores nothing new.
    assert service.record(parse_event(journeys[0][3])).replayed
    # A correction of the home region, which moves counted contacts.
    service.record(parse_event(f.home_region_corrected(journeys[1][0]["episode_id"])))
    ks.load(service, ks.demo_episodes(60, seed=11), per_batch=20)


@pytest.mark.asyncio
async def test_every_fact_reaches_the_topic_once_in_store_order(
    settings: Settings, service: CareEpisodes
) -> None:
    record_mixed(service)
    facts = ks.stored_facts(service)
    relay = ks.relay_for(settings, service)
    await ks.publish_all(relay, len(facts))
    assert relay.published_total == len(facts)

    assert settings.kafka_bootstrap_servers
    records = await ks.read_topic(settings.kafka_bootstrap_servers, settings.events_topic)
    by_id = {fact.event_id: fact for fact in facts}
    assert len(records) == len(facts), "each fact exactly once (no faults here)"
    assert {str(decode(r.value).id) for r in records} == set(by_id)

    partitions: dict[str, set[int]] = defaultdict(set)
    on_topic: dict[str, list[tuple[int, int]]] = defaultdict(list)  # episode -> (offset, pos)
    for r in records:
        ce = decode(r.value)
        fact = by_id[str(ce.id)]
        assert r.key == fact.episode_id.encode(), "key = episode id"
        assert dict(r.headers)["content-type"] == CONTENT_TYPE.encode()
        assert str(ce.subject) == fact.episode_id
        assert ce.time == datetime.fromisoformat(fact.fact["occurred_at"])
        assert ce.type == TYPE_PREFIX + fact.fact["type"]
        assert ce.source == f"/sources/{fact.fact['source']}"
        assert ce.storeposition == fact.position
        assert ce.episodeversion == fact.version
        assert ce.recordedat == fact.recorded_at
        assert ce.relayepoch == 1
        assert ce.fact() == parse_event(fact.fact), "the fact round-trips unchanged"
        partitions[fact.episode_id].add(r.partition)
        on_topic[fact.episode_id].append((r.offset, fact.position))

    assert all(len(p) == 1 for p in partitions.values()), "one episode, one partition"
    every = list(range(settings.events_partitions))
    murmur2 = DefaultPartitioner()  # what any other Kafka producer would choose for the key
    assert all(murmur2(ep.encode(), every, every) in p for ep, p in partitions.items())
    for episode, seen in on_topic.items():
        in_store = [x.position for x in facts if x.episode_id == episode]
        assert [pos for _, pos in sorted(seen)] == in_store, f"episode {episode} out of order"

    # Receipts share the notification log with the facts but are never published.
    everything = service.recorder.select_notifications(start=None, limit=100_000)
    fact_positions = {n.id for n in everything if n.topic in FACT_TOPICS}
    receipts = {n.id for n in everything} - fact_positions
    assert len(receipts) >= len(facts), "every fact has its receipt in the log"
    assert {decode(r.value).storeposition for r in records} == fact_positions

    progress = ks.relay_progress(service, settings.events_topic)
    assert progress.position == facts[-1].position
    assert progress.epoch == 1
    assert progress.cluster_id == await broker.cluster_id(settings.kafka_bootstrap_servers)
    assert progress.probe is not None
    probe = progress.probe
    probed = [r for r in records if (r.partition, r.offset) == (probe.partition, probe.offset)]
    assert [str(decode(r.value).id) for r in probed] == [progress.probe.event_id]


@pytest.mark.asyncio
async def test_a_restarted_relay_resumes_where_it_recorded(
    settings: Settings, service: CareEpisodes
) -> None:
    ks.load(service, ks.demo_episodes(30, seed=3))
    first = len(ks.stored_facts(service))
    await ks.publish_all(ks.relay_for(settings, service), first)

    ks.load(service, ks.demo_episodes(20, seed=4))
    facts = ks.stored_facts(service)
    again = ks.relay_for(settings, service)
    await ks.publish_all(again, len(facts) - first)
    assert again.published_total == len(facts) - first, "only the new facts are published"

    assert settings.kafka_bootstrap_servers
    records = await ks.read_topic(settings.kafka_bootstrap_servers, settings.events_topic)
    assert sorted(str(decode(r.value).id) for r in records) == sorted(x.event_id for x in facts)


@pytest.mark.asyncio
async def test_a_broker_that_lost_its_log_gets_the_whole_store_again(
    sqlite_settings: Settings,
    bundled_broker: BundledBroker,
    kafka_names: dict[str, str],
    tmp_path: Path,
) -> None:
    """The broker restarts empty (new cluster id) while the relay idles: it notices at its
    next check, starts epoch 2 and republishes every fact, then carries on."""
    settings = ks.stack_settings(
        sqlite_settings, kafka_names, bundled_broker.bootstrap_servers, tmp_path
    )
    service = open_episodes(settings)
    try:
        ks.load(service, ks.demo_episodes(25, seed=5))
        before = len(ks.stored_facts(service))
        relay = ks.relay_for(settings, service, broker_check_interval=0.5)
        async with ks.background() as workers:
            workers.start(relay.run)
            await ks.eventually(lambda: relay.published_total == before, workers=workers)
            bundled_broker.restart()
            await ks.eventually(
                lambda: relay.progress.epoch == 2 and relay.published_total >= 2 * before,
                what="epoch 2 republished",
                workers=workers,
            )
            extra = f.typical_journey(uuid4())
            service.record_batch([parse_event(b) for b in extra])
            facts = ks.stored_facts(service)
            await ks.eventually(
                lambda: relay.published_total == before + len(facts), workers=workers
            )
        records = await ks.read_topic(bundled_broker.bootstrap_servers, settings.events_topic)
        events = [decode(r.value) for r in records]
        assert sorted(str(e.id) for e in events) == sorted(x.event_id for x in facts)
        assert {e.relayepoch for e in events} == {2}
        progress = ks.relay_progress(service, settings.events_topic)
        assert (progress.epoch, progress.position) == (2, facts[-1].position)
        assert progress.cluster_id == bundled_broker.cluster_id
    finally:
        service.close()


@pytest.mark.asyncio
async def test_the_probe_check_tells_a_lost_log_from_a_silent_broker(
    sqlite_settings: Settings,
    kafka_bootstrap: str,
    kafka_names: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``holds`` says no only when the broker shows the probe is gone; a broker that does not
    answer in time raises instead, or the relay would republish the whole store."""
    settings = ks.stack_settings(sqlite_settings, kafka_names, kafka_bootstrap, tmp_path)
    service = open_episodes(settings)
    try:
        service.record_batch([parse_event(b) for b in f.typical_journey()])
        facts = ks.stored_facts(service)
        await ks.publish_all(ks.relay_for(settings, service), len(facts))
        probe = ks.relay_progress(service, settings.events_topic).probe
        assert probe is not None
        topic, part, offset = settings.events_topic, probe.partition, probe.offset

        assert await broker.holds(kafka_bootstrap, topic, part, offset, probe.event_id)
        other = facts[0].event_id
        assert not await broker.holds(kafka_bootstrap, topic, part, offset, other)
        assert not await broker.holds(kafka_bootstrap, topic, part, offset + 1, probe.event_id)
        assert not await broker.holds(kafka_bootstrap, topic, 99, 0, probe.event_id)

        async def silent(self: AIOKafkaConsumer, *tps: object, **kw: object) -> dict[str, str]:
            await asyncio.sleep(0.01)
            return {}

        monkeypatch.setattr(AIOKafkaConsumer, "getmany", silent)
        monkeypatch.setattr(AIOKafkaConsumer, "highwater", lambda self, tp: None)
        with pytest.raises(TimeoutError):
            await broker.holds(kafka_bootstrap, topic, part, offset, probe.event_id)
    finally:
        service.close()
