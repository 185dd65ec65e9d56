"""The episode-summary projection on the real event topic, into real read models (a SQLite file,
a PostgreSQL schema): exact counts, resent facts counted once, and a rebuild that swaps in
fresh tables equal to the live ones.

Every expected count is computed straight from the generated events (``expected_summary``),
never from the projection's own SQL.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer

from projections import base
from projections.base import REBUILD_SUFFIX
from projections.db import ReadModelDB
from projections.episode_summary import EpisodeSummary
from projections.rebuild import rebuild
from routing.config import Settings, StoreKind
from routing.episodes.events import parse_event
from routing.episodes.service import CareEpisodes
from routing.messaging.bundled import BundledBroker
from routing.messaging.envelope import decode
from routing.messaging.progress import ProgressStore
from routing.store import open_episodes
from tests import kafka_support as ks
from tests import support as f

pytestmark = pytest.mark.kafka


def with_correction(service: CareEpisodes) -> list[ks.Episode]:
    """A typical journey (its contact completed by video) whose home region is corrected
    afterwards: the counted contact must move from Västra Götaland (14) to Halland (13)."""
    journey = f.typical_journey()
    journey.append(f.home_region_corrected(journey[0]["episode_id"]))
    service.record_batch([parse_event(b) for b in journey])
    return [journey]


@pytest.mark.asyncio
async def test_the_runner_counts_every_completed_contact_once(
    settings: Settings, service: CareEpisodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also: its first offset commit fails (as in a rebalance); Kafka offsets are only for lag
    monitoring, so the runner must carry on."""
    assert settings.kafka_bootstrap_servers
    episodes = with_correction(service) + ks.demo_episodes(250, seed=21)
    ks.load(service, episodes[1:])
    expected = ks.expected_summary(episodes)
    assert sum(expected.values()) > 100
    assert len({k[2] for k in expected}) >= 3
    assert expected[("13", f.CARE_REGION, "video", "2025-10")] >= 1, "the corrected contact"

    failing = ks.commit_failing_once(AIOKafkaConsumer.commit)
    monkeypatch.setattr(AIOKafkaConsumer, "commit", failing)
    with ks.read_models(settings) as db:
        async with ks.background() as workers:
            workers.start(ks.relay_for(settings, service).run)
            runner = ks.runner_for(settings, db)
            workers.start(runner.run)
            await ks.wait_caught_up(db, settings, service, workers=workers)
            assert ks.summary_counts(db) == expected

            # The runner keeps following the topic: a later batch adds exactly its contacts.
            more = ks.demo_episodes(40, seed=22)
            ks.load(service, more)
            expected += ks.expected_summary(more)
            await ks.wait_caught_up(db, settings, service, workers=workers)
            assert ks.summary_counts(db) == expected
        assert runner.worker.duplicates == 0
        assert failing.failures == 1


@pytest.mark.asyncio
async def test_facts_the_relay_resent_are_counted_once(
    settings: Settings, service: CareEpisodes
) -> None:
    """The relay resends what it could not record as published (a crash after the broker's
    acks, before its own commit). Simulated exactly: its recorded position is put back, as
    the crash would have left it, and it runs again; every resent fact lands at a new offset."""
    assert settings.kafka_bootstrap_servers
    episodes = with_correction(service) + ks.demo_episodes(150, seed=31)
    ks.load(service, episodes[1:])
    facts = ks.stored_facts(service)
    await ks.publish_all(ks.relay_for(settings, service), len(facts))

    with ks.read_models(settings) as db:
        first = await ks.project(db, settings)
        assert ks.summary_counts(db) == ks.expected_summary(episodes)

        progress = ProgressStore(service)
        crashed_at = facts[len(facts) // 3].position
        progress.save(replace(progress.load(settings.events_topic), position=crashed_at))
        resent = ks.relay_for(settings, service)
        await ks.publish_all(resent, len([x for x in facts if x.position > crashed_at]))

        records = await ks.read_topic(settings.kafka_bootstrap_servers, settings.events_topic)
        ids = [str(decode(r.value).id) for r in records]
        assert len(ids) == len(facts) + resent.published_total > len(facts), "duplicates"
        assert set(ids) == {x.event_id for x in facts}

        # A restarted worker (positions from the read model) and a fresh one both skip them.
        again = await ks.project(db, settings)
        assert again.applied == 0
        assert again.duplicates > 0
        assert first.duplicates == 0
        assert ks.summary_counts(db) == ks.expected_summary(episodes)

    fresh = settings.model_copy(
        update={
            "projections_sqlite_path": settings.projections_sqlite_path.with_name("fresh.db"),
            "projections_schema": settings.projections_schema + "_fresh",
        }
    )
    with ks.read_models(fresh) as db:
        worker = await ks.project(db, fresh, page=97)
        assert worker.duplicates > 0
        assert ks.summary_counts(db) == ks.expected_summary(episodes)


def _tables(settings: Settings, db: ReadModelDB) -> set[str]:
    with db.transaction() as cur:
        if settings.store is StoreKind.postgres:
            cur.execute(
                sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": settings.projections_schema},
            )
        else:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row[0]) for row in cur.fetchall()}


@pytest.mark.asyncio
async def test_a_rebuild_swaps_in_fresh_tables_equal_to_the_live_ones(
    settings: Settings, service: CareEpisodes
) -> None:
    """The live read model is damaged on purpose first, so that a rebuild that kept the live
    tables (or missed the tail of a partition) could not pass."""
    assert settings.kafka_bootstrap_servers
    bootstrap, topic = settings.kafka_bootstrap_servers, settings.events_topic
    episodes = with_correction(service) + ks.demo_episodes(200, seed=41)
    ks.load(service, episodes[1:])
    expected = ks.expected_summary(episodes)

    with ks.read_models(settings) as db:
        async with ks.background() as workers:
            workers.start(ks.relay_for(settings, service).run)
            workers.start(ks.runner_for(settings, db).run)
            ends = await ks.wait_caught_up(db, settings, service, workers=workers)
            live = ks.summary_counts(db)
            assert live == expected

            with db.transaction() as cur:  # damage: one row doubled, another gone
                (home, care, mode, month), _ = live.most_common(1)[0]
                cur.execute(
                    sa.text(
                        "UPDATE episode_summary SET contacts = contacts * 2 WHERE home_region = :h"
                        " AND care_region = :c AND mode = :m AND month = :month"
                    ),
                    {"h": home, "c": care, "m": mode, "month": month},
                )
                cur.execute(
                    sa.text("DELETE FROM episode_summary WHERE home_region = :h"), {"h": "13"}
                )
            assert ks.summary_counts(db) != expected

            seen: list[tuple[int, int]] = []
            read = await rebuild(db, EpisodeSummary(), bootstrap, topic,
                                 progress=lambda d, t: seen.append((d, t)))  # fmt: skip
            assert read == sum(ends.values())
            assert seen[-1] == (read, read)
            assert ks.summary_counts(db) == live == expected
            assert ks.positions(db, EpisodeSummary.name, topic) == ends
            assert not {t for t in _tables(settings, db) if t.endswith(REBUILD_SUFFIX)}
            assert ks.positions(db, EpisodeSummary.name + REBUILD_SUFFIX, topic) == {}
            with db.transaction() as cur:  # the rebuild's positions: the next generation's
                assert base.read_generation(cur, EpisodeSummary.name) == 2

            # The live runner carries on from the swapped-in positions.
            more = ks.demo_episodes(30, seed=42)
            ks.load(service, more)
            expected += ks.expected_summary(more)
            await ks.wait_caught_up(db, settings, service, workers=workers)
            assert ks.summary_counts(db) == expected


@pytest.mark.asyncio
async def test_new_facts_on_a_republished_log_shorter_than_the_old_one_are_counted(
    store: Settings, bundled_broker: BundledBroker, kafka_names: dict[str, str], tmp_path: Path
) -> None:
    """The old log held every fact twice (a relay resend); the broker then lost it and the
    relay republished the store once, as epoch 2, so each partition is now shorter than the
    position the read model recorded. Reading it from the earliest offset, the projection
    must notice epoch 2 on messages below its position too: otherwise a fact recorded after
    the loss, landing below that position, would be skipped as 'already applied'."""
    settings = ks.stack_settings(store, kafka_names, bundled_broker.bootstrap_servers, tmp_path)
    service = open_episodes(settings)
    try:
        episodes = ks.demo_episodes(80, seed=51)
        ks.load(service, episodes)
        facts = ks.stored_facts(service)
        await ks.publish_all(ks.relay_for(settings, service), len(facts))
        progress = ProgressStore(service)
        progress.save(replace(progress.load(settings.events_topic), position=0))
        await ks.publish_all(ks.relay_for(settings, service), len(facts))  # all again, epoch 1

        with ks.read_models(settings) as db:
            await ks.project(db, settings)
            assert ks.summary_counts(db) == ks.expected_summary(episodes)
            old = ks.positions(db, EpisodeSummary.name, settings.events_topic)
            assert sum(old.values()) == 2 * len(facts)

            bundled_broker.restart()
            await ks.publish_all(ks.relay_for(settings, service), len(facts))  # epoch 2
            late = f.typical_journey()  # its video contact is completed: one more count
            service.record_batch([parse_event(b) for b in late])
            await ks.publish_all(ks.relay_for(settings, service), len(late))
            new = await ks.end_offsets(bundled_broker.bootstrap_servers, settings.events_topic)
            assert all(new[p] < old[p] for p in new), "every partition is shorter than before"

            worker = await ks.project(db, settings)
            assert ks.summary_counts(db) == ks.expected_summary([*episodes, late])
            assert ks.positions(db, EpisodeSummary.name, settings.events_topic) == new
            assert worker.duplicates == 0
    finally:
        service.close()
