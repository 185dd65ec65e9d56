"""Broker replaced under a running ``routing ingest`` (issue 15, fault 1).

The inbound topic's first log is read and stored; the broker is then replaced by a fresh,
empty one on the same port (a new cluster; offsets start again at 0) and front-ends send new
facts to it. Every record acknowledged by either broker must end stored or dead-lettered,
exactly once: before the fix, ingest kept the positions of the old log and skipped every new
record at or below them.
"""

from __future__ import annotations

from uuid import uuid4

import pytest

from routing.config import Settings
from routing.episodes.service import CareEpisodes
from routing.messaging.bundled import BundledBroker
from tests import kafka_support as ks
from tests import support as f
from tests.faults import broker_support as bs
from tests.faults.broker_support import fault_service, fault_settings  # noqa: F401

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres]


def journeys(count: int) -> list[list[bs.Body]]:
    return [f.typical_journey(uuid4()) for _ in range(count)]


def records(episodes: list[list[bs.Body]], poison: list[bytes]) -> list[tuple[bytes, bytes]]:
    """The facts in order, one poison record after each episode's first fact."""
    out: list[tuple[bytes, bytes]] = []
    for i, episode in enumerate(episodes):
        key = episode[0]["episode_id"].encode()
        out.append((key, bs.js(episode[0])))
        if i < len(poison):
            out.append((key, poison[i]))
        out.extend((key, bs.js(body)) for body in episode[1:])
    return out


@pytest.mark.asyncio
@pytest.mark.parametrize("same_cluster", [False, True], ids=["new-cluster", "same-cluster-id"])
async def test_ingest_reads_a_replaced_brokers_log_from_its_start(
    fault_settings: Settings,  # noqa: F811
    fault_service: CareEpisodes,  # noqa: F811
    bundled_broker: BundledBroker,
    tmp_path: object,
    same_cluster: bool,
) -> None:
    """With the same cluster id (a broker that lost its log but kept its id) the new log is
    recognised by its partition ending below the stored position."""
    settings, service = fault_settings, fault_service
    await ks.create_topics(settings)
    before = journeys(4)  # 44 facts + 2 poison records on the first log
    after = journeys(3)  # 33 facts + 2 poison records on the second: fewer than before
    sent_before = records(before, [b"not json", b"[1]"])
    poison_after = [b'{"type": 1}', b"\xff\xfe"]
    sent_after = records(after, poison_after)
    ingest = ks.Routing(settings, tmp_path, "ingest")  # type: ignore[arg-type]
    ingest.start()
    try:
        await bs.produce_inbound(settings, sent_before)
        want_before = {b["event_id"] for e in before for b in e}
        await bs.wait_for(
            lambda: want_before <= set(bs.stored_ids(service)), "first log stored", ingest
        )

        async def lettered_before() -> bool:
            return len(bs.letter_origins(await bs.dead_letters(settings))) == 2

        await bs.wait_for(lettered_before, "the first log's poison dead-lettered", ingest)

        bundled_broker.restart(same_cluster=same_cluster)  # the same port, an empty log
        returned = bs.Stopwatch()
        await ks.create_topics(settings)  # as the front-ends' deployment would
        offsets = await bs.produce_inbound(settings, sent_after)
        assert offsets[0] == 0, "the new log starts again at offset 0"
        want_after = {b["event_id"] for e in after for b in e}

        async def all_in() -> bool:
            letters = bs.letter_origins(await bs.dead_letters(settings))
            return want_after <= set(bs.stored_ids(service)) and len(letters) == 2

        await bs.wait_for(all_in, "the new log's facts stored and letters sent", ingest)
        stored_in = returned.seconds()
        body = await bs.until_ready(settings)
        ready_in = returned.seconds()

        # Exactly once: every fact of both logs once in the store, nothing else.
        ids = bs.stored_ids(service)
        assert set(ids) == want_before | want_after
        assert max(ids.values()) == 1
        # The new broker's dead-letter topic: one letter per poison record of its log.
        letters = bs.letter_origins(await bs.dead_letters(settings))
        poison_at = {o for o, (_, v) in zip(offsets, sent_after, strict=True) if v in poison_after}
        assert letters == {(0, o): 1 for o in poison_at}
        assert body["checks"]["broker"]["ok"]
        bs.figures(
            "broker_replaced_ingest" + ("_same_cluster_id" if same_cluster else ""),
            recovery_stored_seconds=stored_in,
            recovery_ready_seconds=ready_in,
            accepted=len(sent_before) + len(sent_after),
            stored=sum(ids.values()),
            dead_lettered=4,
            lost=len((want_before | want_after) - set(ids)),
            double_counted=sum(n - 1 for n in ids.values()),
        )
    finally:
        ingest.terminate()
