"""The inbound consumer against a real broker and a real store (a SQLite file, PostgreSQL).

FAULT 4: poison messages on the inbound topic (not JSON, not an object, not a valid event, an
event a journey rule refuses, an event id reused with another body, a time in the future) each
land on the dead-letter topic with their original bytes, key and headers plus the reason
headers; the valid messages around them are applied; and after the consumer dies between its
store commit and its Kafka offset commit, the redelivered messages are neither applied nor
dead-lettered twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from routing.config import Settings
from routing.episodes.service import CareEpisodes, EpisodeNotFound
from routing.messaging.ingest import Ingest, tracking_name
from tests import kafka_support as ks
from tests import support as f

pytestmark = pytest.mark.kafka


class Killed(Exception):  # noqa: N818 - stands for a kill, not an error
    """Stands for the process dying: raised where the Kafka offset commit would happen."""


def js(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body)


@pytest.mark.asyncio
async def test_poison_messages_are_dead_lettered_and_nothing_is_applied_twice(
    settings: Settings, service: CareEpisodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.kafka_bootstrap_servers
    bootstrap, inbound = settings.kafka_bootstrap_servers, settings.inbound_topic
    await ks.create_topics(settings)

    episode = str(uuid4())
    journey = f.typical_journey(episode)
    opened = journey[0]
    no_patient = f.contact_requested()
    del no_patient["patient"]
    elsewhere = f.contact_requested(event_id=opened["event_id"])  # its id, another episode
    future = f.contact_requested(occurred_at=datetime.now(UTC) + timedelta(days=2))
    trace = [("trace-id", b"t-42")]

    # (value, expected dead-letter reason code or None if it must be applied); one partition,
    # so the order below is the order of consumption.
    messages: list[tuple[bytes, str | None]] = [
        (js(opened), None),
        (b'{"type": "contact_requested", "event_id": ', "not_json"),
        (b"[1, 2, 3]", "not_json"),
        (js(no_patient), "validation_error"),
        (js(f.contact_completed(episode)), "contact_not_started"),
        (js({**opened, "source": "another-source"}), "event_id_reused"),
        (js(elsewhere), "event_id_reused"),
        (js(future), "occurred_in_future"),
        *((js(body), None) for body in journey[1:-1]),
        (js(opened), None),  # the same fact sent again: answered from its receipt
    ]
    sent = await ks.produce(
        bootstrap, inbound, ((episode.encode(), v) for v, _ in messages), partition=0, headers=trace
    )
    assert [o for _, o in sent] == list(range(len(messages)))

    # Killed members do not leave their group; a short session makes the restart quick.
    real_init, real_commit = AIOKafkaConsumer.__init__, AIOKafkaConsumer.commit

    def short_session(self: AIOKafkaConsumer, *topics: str, **kw: Any) -> None:
        kw.setdefault("session_timeout_ms", 3000)
        kw.setdefault("heartbeat_interval_ms", 500)
        real_init(self, *topics, **kw)

    async def dying_commit(self: AIOKafkaConsumer, offsets: Any = None) -> None:
        raise Killed("after the store commit, before the offset commit")

    monkeypatch.setattr(AIOKafkaConsumer, "__init__", short_session)
    monkeypatch.setattr(AIOKafkaConsumer, "commit", dying_commit)
    group = f"ingest-{uuid4().hex[:8]}"
    first = Ingest(service, bootstrap, inbound, settings.dead_letter_topic, group_id=group)
    with pytest.raises(Killed):
        await asyncio.wait_for(first.run(asyncio.Event()), timeout=30)
    # The restarted consumer's first offset commit fails (the group rebalanced under it): the
    # store holds the position, so it must carry on rather than die.
    failing = ks.commit_failing_once(real_commit)
    monkeypatch.setattr(AIOKafkaConsumer, "commit", failing)
    tracked = first.tracked(0)
    assert 0 < tracked <= len(messages), "the first page is in the store"
    assert first.applied + first.dead_lettered == tracked

    # Restarted in the same group: Kafka redelivers from its (absent) commit; one more valid
    # message comes after everything, so its arrival in the store ends the wait.
    again = Ingest(service, bootstrap, inbound, settings.dead_letter_topic, group_id=group)
    async with ks.background() as workers:
        workers.start(again.run)
        last = await ks.produce(
            bootstrap, inbound, [(episode.encode(), js(journey[-1]))], partition=0
        )
        end = last[0][1] + 1
        await ks.eventually(
            lambda: asyncio.to_thread(lambda: again.tracked(0) == end),
            workers=workers,
            what="the message after the restart applied",
        )
    assert failing.failures == 1
    assert again.dead_lettered == sum(1 for _, c in messages[tracked:] if c)
    assert again.applied == 1 + sum(1 for _, c in messages[tracked:] if c is None)

    # The store holds exactly the journey, in order, and nothing of the poison.
    history = service.history(UUID(episode))
    assert [str(h.event_id) for h in history] == [b["event_id"] for b in journey]
    assert [h.type for h in history] == [b["type"] for b in journey]
    for body in (no_patient, elsewhere, future):
        with pytest.raises(EpisodeNotFound):
            service.episode(UUID(body["episode_id"]))
    assert len(ks.stored_facts(service)) == len(journey)
    assert service.recorder.max_tracking_id(tracking_name(inbound, 0)) == end

    # Each poison message is dead-lettered once, as it was sent, with the reason.
    letters = await ks.read_topic(bootstrap, settings.dead_letter_topic)
    poison = {i: code for i, (_, code) in enumerate(messages) if code}
    assert sorted(int(dict(r.headers)["dlq-original-offset"]) for r in letters) == sorted(poison)
    for r in letters:
        headers = dict(r.headers)
        offset = int(headers["dlq-original-offset"])
        assert r.value == messages[offset][0], "the original bytes"
        assert r.key == episode.encode()
        assert headers["trace-id"] == b"t-42", "the original headers are kept"
        assert headers["dlq-reason-code"].decode() == poison[offset]
        assert headers["dlq-reason"], "a human-readable reason"
        assert headers["dlq-original-topic"].decode() == inbound
        assert headers["dlq-original-partition"] == b"0"
    reasons = {int(dict(r.headers)["dlq-original-offset"]): dict(r.headers)["dlq-reason"]
               for r in letters}  # fmt: skip
    assert b"patient" in reasons[3]
    assert str(opened["event_id"]).encode() in reasons[5]
