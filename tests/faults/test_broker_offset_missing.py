"""A projection whose stored offset is no longer in the log (issue 15, fault 5).

Records removed by retention, compaction or DeleteRecords, or lost by a broker, leave a
runner's position below the log's first offset. Before the fix the runner sought back to the
missing offset forever (a livelock: nothing applied, ready all along). Now the worker reports
the first offset the broker delivered beyond its position, the runner compares it with the
log's start, and the read model is rebuilt from the event store and positioned at the log's
start: every fact counted exactly once, the removed ones included.

Real store (PostgreSQL), real relay and broker, real read-model database. The bundled broker
cannot remove records (it answers no DeleteRecords and keeps no retention), so the removal
is represented by delivering each partition from its new first offset on, as a broker that
removed the head of its log would.
"""

from __future__ import annotations

import pytest

from projections.episode_summary import EpisodeSummary
from projections.rebuild import rebuild_from_store
from projections.runner import ProjectionWorker
from routing.config import Settings
from routing.episodes.service import CareEpisodes
from routing.operations.health import below_start
from tests import kafka_support as ks
from tests.faults import broker_support as bs
from tests.faults.broker_support import fault_service, fault_settings  # noqa: F401

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres]


def by_partition(records: list[ks.Record]) -> dict[int, list[ks.Record]]:
    out: dict[int, list[ks.Record]] = {}
    for r in records:
        out.setdefault(r.partition, []).append(r)
    return out


@pytest.mark.asyncio
async def test_a_position_below_the_logs_start_is_healed_from_the_store(
    fault_settings: Settings,  # noqa: F811
    fault_service: CareEpisodes,  # noqa: F811
) -> None:
    settings, service = fault_settings, fault_service
    assert settings.kafka_bootstrap_servers
    await ks.create_topics(settings)
    episodes = ks.demo_episodes(300, seed=1505)
    ks.load(service, episodes)
    relay = ks.relay_for(settings, service)
    await ks.publish_all(relay, len(ks.stored_facts(service)))
    topic = settings.events_topic
    log = by_partition(await ks.read_topic(settings.kafka_bootstrap_servers, topic))

    with ks.read_models(settings) as db:
        worker = ProjectionWorker(db, EpisodeSummary(), topic)
        for p, records in log.items():  # a third of each partition applied
            worker.apply(p, records[: len(records) // 3])
        positions = {p: worker.position(p) for p in log}
        # The head of every partition is removed: the log now starts at two thirds.
        starts = {p: len(records) * 2 // 3 for p, records in log.items()}
        assert all(starts[p] > positions[p] for p in log)
        assert below_start({EpisodeSummary.name: positions}, starts, [EpisodeSummary.name]) == {
            EpisodeSummary.name: starts
        }

        for p, records in log.items():
            applied = worker.apply(p, records[starts[p] :])
            assert applied.seek_to == positions[p], "nothing applied past the gap"
            assert applied.first == starts[p], "the first offset the broker delivered"
        before_heal = sum(ks.summary_counts(db).values())

        more = ks.demo_episodes(60, seed=1506)  # facts keep arriving meanwhile
        ks.load(service, more)
        rebuild_from_store(db, worker.projection, service, topic, starts, epoch=1)
        assert {p: worker.position(p) for p in log} == starts
        await ks.publish_all(relay, relay.published_total + 1)
        log = by_partition(await ks.read_topic(settings.kafka_bootstrap_servers, topic))
        for p, records in log.items():  # the runner reads on from the log's start
            applied = worker.apply(p, records[starts[p] :])
            assert applied.seek_to is None
        counts = ks.summary_counts(db)

    expected = ks.expected_summary(episodes + more)
    assert before_heal < sum(expected.values())
    assert counts == expected, "every fact once: the removed ones from the store"
    bs.figures(
        "offset_missing",
        stored=len(ks.stored_facts(service)),
        projected=sum(counts.values()),
        expected_projected=sum(expected.values()),
        lost=sum((expected - counts).values()),
        double_counted=sum((counts - expected).values()),
        duplicates_skipped=worker.duplicates,
    )
