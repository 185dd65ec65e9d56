"""Faults on the Kafka side, against a real broker and real stores (a SQLite file, PostgreSQL).

1. The relay is SIGKILLed mid-stream and restarted: every stored fact reaches the topic, and
   the episode summary counts each once despite the duplicates the restart resends.
2. The broker is down for a while and comes back empty: facts are still accepted (the API
   writes only to the store), the relay republishes them all under a new epoch, the
   projection starts again from that log and ends with exact counts.
3. ``routing projections run`` is SIGKILLed between its read-model commit and its Kafka
   offset commit (it stops itself at a failpoint there), twice: restarted in the same
   consumer group, it counts nothing twice.

The expected counts are computed straight from the generated events, never from the read model.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi.testclient import TestClient

from api.app import create_app
from projections.episode_summary import EpisodeSummary
from routing.config import Settings
from routing.episodes.service import CareEpisodes
from routing.messaging.broker import cluster_id
from routing.messaging.bundled import BundledBroker
from routing.messaging.envelope import decode
from routing.messaging.progress import ProgressStore
from routing.store import open_episodes
from tests import kafka_support as ks
from tests import support as f
from tests.auth_support import all_roles

pytestmark = pytest.mark.kafka


# --- FAULT 1 ---------------------------------------------------------------------------------


@pytest.fixture
def relay_process(settings: Settings, tmp_path: Path) -> Iterator[ks.Routing]:
    proc = ks.Routing(settings, tmp_path, "relay")
    yield proc
    proc.terminate()


@pytest.mark.asyncio
async def test_relay_killed_mid_stream_loses_nothing_and_counts_nothing_twice(
    settings: Settings, service: CareEpisodes, relay_process: ks.Routing
) -> None:
    assert settings.kafka_bootstrap_servers
    await ks.create_topics(settings)
    episodes = ks.demo_episodes(1000, seed=101)
    ks.load(service, episodes)
    facts = ks.stored_facts(service)
    assert len(facts) > 4000
    progress = ProgressStore(service)

    with ks.read_models(settings) as db:
        async with ks.background() as workers:
            runner = ks.runner_for(settings, db)
            workers.start(runner.run)  # joins its group while the relay starts

            # Killed as soon as it has recorded its first page: the rest is still to publish.
            relay_process.start()
            killed_at = await ks.eventually(
                lambda: progress.load(settings.events_topic).position,
                timeout=30, interval=0.005, what=f"relay started:\n{relay_process.tail()}",
            )  # fmt: skip
            relay_process.sigkill()
            after = progress.load(settings.events_topic)
            assert 0 < killed_at <= after.position < facts[-1].position, "killed mid-stream"

            # Killed again after the broker acknowledged a page but before the relay recorded
            # it. SIGKILL cannot aim at that window, so the record is put back to where that
            # kill would have left it: the previous page boundary.
            relay_process.start()
            await ks.eventually(
                lambda: progress.load(settings.events_topic).position > after.position,
                timeout=30, interval=0.005, what=f"relay resumed:\n{relay_process.tail()}",
            )  # fmt: skip
            relay_process.sigkill()
            progress.save(replace(progress.load(settings.events_topic), position=after.position))

            relay_process.start()
            more = ks.demo_episodes(60, seed=102)
            ks.load(service, more)  # while the restarted relay is catching up
            facts = ks.stored_facts(service)
            await ks.wait_caught_up(db, settings, service, timeout=60, workers=workers)

            records = await ks.read_topic(settings.kafka_bootstrap_servers, settings.events_topic)
            on_topic = Counter(str(decode(r.value).id) for r in records)
            assert set(on_topic) == {x.event_id for x in facts}, "nothing lost, nothing else"
            assert max(on_topic.values()) > 1, "the restarts resent facts"
            assert {decode(r.value).relayepoch for r in records} == {1}
            assert ks.summary_counts(db) == ks.expected_summary(episodes + more)
            assert runner.worker.duplicates > 0, "the duplicates reached the projection"

        relay_process.terminate()  # and it stops cleanly on SIGTERM
        assert relay_process.proc is not None
        assert relay_process.proc.returncode == 0
        assert progress.load(settings.events_topic).position == facts[-1].position


# --- FAULT 2 ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_broker_outage_delays_but_loses_nothing(
    store: Settings,
    bundled_broker: BundledBroker,
    kafka_names: dict[str, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = ks.stack_settings(store, kafka_names, bundled_broker.bootstrap_servers, tmp_path)
    service = open_episodes(settings)
    api = TestClient(create_app(settings, service=service), headers=all_roles())
    await ks.create_topics(settings)
    episodes = ks.demo_episodes(150, seed=201)
    ks.load(service, episodes)
    try:
        with ks.read_models(settings) as db:
            async with ks.background() as workers:
                relay = ks.relay_for(settings, service, broker_check_interval=1.0)
                workers.start(relay.run)
                runner = ks.runner_for(settings, db)
                workers.start(runner.run)
                await ks.wait_caught_up(db, settings, service, workers=workers)
                assert ks.summary_counts(db) == ks.expected_summary(episodes)
                before = relay.published_total

                bundled_broker.stop()
                journeys = [f.typical_journey() for _ in range(12)]
                for journey in journeys:  # accepted while the broker is down
                    r = await asyncio.to_thread(api.post, "/events/batch", json={"events": journey})
                    assert r.status_code == 201, r.text
                batch = ks.demo_episodes(40, seed=202)
                caplog.set_level(logging.WARNING, logger="routing.messaging.relay")
                failed = _relay_retries(caplog)
                await asyncio.to_thread(ks.load, service, batch)
                # Down for a while: the relay keeps failing and retrying. Two more failures
                # than before the load: the second one's attempt began after every fact above
                # was stored, so it tried them (no wall-clock wait stands for that).
                await ks.eventually(
                    lambda: _relay_retries(caplog) >= failed + 2,
                    timeout=60,
                    what="the relay tried the stored facts and failed",
                    workers=workers,
                )
                assert relay.published_total == before, "nothing can be acknowledged"

                bundled_broker.start()  # a new, empty cluster on the same port
                assert await cluster_id(bundled_broker.bootstrap_servers) == (
                    bundled_broker.cluster_id
                ), "our broker answers on the port"
                await ks.wait_caught_up(db, settings, service, timeout=90, workers=workers)
                everything = episodes + journeys + batch
                assert ks.summary_counts(db) == ks.expected_summary(everything)

                records = await ks.read_topic(
                    bundled_broker.bootstrap_servers, settings.events_topic
                )
                facts = ks.stored_facts(service)
                assert {str(decode(r.value).id) for r in records} == {x.event_id for x in facts}
                republished = {
                    str(decode(r.value).id) for r in records if decode(r.value).relayepoch == 2
                }
                assert republished == {x.event_id for x in facts}, "all again, as epoch 2"
                progress = ProgressStore(service).load(settings.events_topic)
                assert (progress.epoch, progress.position) == (2, facts[-1].position)
                assert progress.cluster_id == bundled_broker.cluster_id
                with db.transaction() as cur:
                    cur.execute(
                        sa.text("SELECT epoch FROM projection_epochs WHERE projection = :p"),
                        {"p": EpisodeSummary.name},
                    )
                    assert cur.fetchone()[0] == 2
    finally:
        service.close()


def _relay_retries(caplog: pytest.LogCaptureFixture) -> int:
    """The relay's "broker unavailable; retrying" lines so far: one per failed attempt."""
    return sum(
        r.name == "routing.messaging.relay" and "broker unavailable" in r.getMessage()
        for r in caplog.records
    )


# --- FAULT 3 ---------------------------------------------------------------------------------


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets (OffsetFetch, without joining the group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        out = {}
        for p in sorted(consumer.partitions_for_topic(topic) or ()):
            offset = await consumer.committed(TopicPartition(topic, p))
            if offset is not None:
                out[p] = offset
        return out
    finally:
        await consumer.stop()


@pytest.mark.asyncio
async def test_projection_killed_between_its_commits_counts_nothing_twice(
    store: Settings, bundled_broker: BundledBroker, kafka_names: dict[str, str], tmp_path: Path
) -> None:
    """``routing projections run episode_summary`` stops itself at the failpoint between a
    page's read-model commit and its Kafka offset commit (``operations/failpoints.py``) and
    is killed there with SIGKILL, twice; restarted, it counts nothing twice."""
    bootstrap = bundled_broker.bootstrap_servers
    settings = ks.stack_settings(store, kafka_names, bootstrap, tmp_path)
    topic, group = settings.events_topic, "routing-projection-episode_summary"
    await ks.create_topics(settings)
    service = open_episodes(settings)
    try:
        episodes = ks.demo_episodes(400, seed=301)
        ks.load(service, episodes)
        await ks.publish_all(ks.relay_for(settings, service), len(ks.stored_facts(service)))
    finally:
        service.close()
    expected = ks.expected_summary(episodes)
    runner = ks.Routing(settings, tmp_path, "projections", "run", "episode_summary")
    try:
        with ks.read_models(settings) as db:
            for _ in range(2):  # killed after its second page that applied facts, twice
                runner.start(ROUTING_FAILPOINTS="projection-after-db-commit=2")
                await ks.eventually(
                    runner.stopped, timeout=60, what=f"the failpoint:\n{runner.tail()}"
                )
                in_db = ks.positions(db, EpisodeSummary.name, topic)
                in_kafka = await committed(bootstrap, group, topic)
                assert all(o <= in_db[p] for p, o in in_kafka.items())
                ahead = [p for p, o in in_db.items() if in_kafka.get(p, 0) < o]
                assert ahead, "a page is in the read model whose offset Kafka does not have"
                assert 0 < sum(ks.summary_counts(db).values()) < sum(expected.values())
                runner.sigkill()

            runner.start()
            service = open_episodes(settings)
            try:
                ends = await ks.wait_caught_up(db, settings, service, timeout=90)
            finally:
                service.close()
            assert ks.summary_counts(db) == expected
            await ks.eventually(
                lambda: committed(bootstrap, group, topic), timeout=30, what="offsets committed"
            )
            assert await committed(bootstrap, group, topic) == ends
    finally:
        runner.terminate()
