"""An inbound record over 1 MB, and poison records, under a ``routing ingest`` that is killed
and restarted (issue 15, fault 2).

Before the fix the oversized record's dead letter failed (the producer refuses requests over
1 MiB), the process exited, and each restart met the same record again and dead-lettered the
records before it again. Now the record is dead-lettered as a reference and every bad record
gets exactly one letter, however often the process dies (SIGKILL) and restarts; every valid
fact is stored exactly once.
"""

from __future__ import annotations

import hashlib
from uuid import uuid4

import orjson
import pytest

from routing.config import Settings
from routing.episodes.service import CareEpisodes
from tests import kafka_support as ks
from tests import support as f
from tests.faults import broker_support as bs
from tests.faults.broker_support import fault_service, fault_settings  # noqa: F401

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres]

PERSONNUMMER = "19121212-1212"  # Skatteverket's documented test number


def oversized() -> bytes:
    """1.5 MB: a JSON object naming a patient by personnummer, then a long note."""
    return orjson.dumps({"type": "contact_requested", "patient": PERSONNUMMER,
                         "note": "x" * 1_500_000})  # fmt: skip


@pytest.mark.asyncio
async def test_an_oversized_record_is_dead_lettered_once_as_a_reference(
    fault_settings: Settings,  # noqa: F811
    fault_service: CareEpisodes,  # noqa: F811
    tmp_path: object,
) -> None:
    settings, service = fault_settings, fault_service
    await ks.create_topics(settings)
    episodes = [f.typical_journey(uuid4()) for _ in range(6)]
    big = oversized()
    poison = [b"not json", b"[1, 2]", big, b'{"type": "no_such_fact"}']
    sent: list[tuple[bytes, bytes]] = []
    for i, episode in enumerate(episodes):
        key = episode[0]["episode_id"].encode()
        sent += [(key, bs.js(body)) for body in episode[:5]]
        if i < len(poison):
            sent.append((key, poison[i]))
        sent += [(key, bs.js(body)) for body in episode[5:]]
    offsets = await bs.produce_inbound(settings, sent, max_request_size=4 << 20)
    bad_at = {o for o, (_, v) in zip(offsets, sent, strict=True) if v in poison}
    want = {b["event_id"] for e in episodes for b in e}

    ingest = ks.Routing(settings, tmp_path, "ingest")  # type: ignore[arg-type]
    restarts = 0

    async def done() -> bool:
        """Like a supervisor: a process that exited is started again."""
        nonlocal restarts
        assert ingest.proc is not None
        if ingest.proc.poll() is not None:
            restarts += 1
            assert restarts < 20, f"ingest keeps exiting:\n{ingest.tail()}"
            ingest.start()
        letters = bs.letter_origins(await bs.dead_letters(settings))
        return want <= set(bs.stored_ids(service)) and set(letters) == {(0, o) for o in bad_at}

    try:
        ingest.start()
        # Killed twice while it works through the log, restarted each time.
        for _ in range(2):
            await bs.wait_for(lambda: len(bs.stored_ids(service)) > 0, "a first fact", ingest)
            ingest.sigkill()
            ingest.start()
        await bs.wait_for(done, "every record stored or dead-lettered", ingest, timeout=90)
        # More records after everything: applied once more means the process is past them all.
        tail = f.typical_journey(uuid4())
        key = tail[0]["episode_id"].encode()
        await bs.produce_inbound(settings, [(key, bs.js(b)) for b in tail])
        want |= {b["event_id"] for b in tail}
        await bs.wait_for(done, "the records after them", ingest)
    finally:
        ingest.terminate()

    ids = bs.stored_ids(service)
    assert set(ids) == want, "every fact stored"
    assert max(ids.values()) == 1, "none twice"
    assert restarts == 0, "the process never exited on its own"
    letters = await bs.dead_letters(settings)
    assert bs.letter_origins(letters) == {(0, o): 1 for o in bad_at}, "one letter per record"

    (reference,) = [r for r in letters if dict(r.headers).get("dlq-reference") == b"true"]
    body = orjson.loads(reference.value)
    assert body["original"]["offset"] == offsets[[v for _, v in sent].index(big)]
    assert body["original"]["topic"] == settings.inbound_topic
    assert body["original"]["partition"] == 0
    assert body["size"] == len(big)
    assert body["sha256"] == hashlib.sha256(big).hexdigest()
    assert body["reason_code"] == "validation_error"
    assert body["first_bytes"].startswith('{"type":"contact_requested","patient":"')
    assert PERSONNUMMER not in reference.value.decode()
    assert len(reference.value) < 4096
    for r in letters:  # no letter carries the raw number
        assert PERSONNUMMER.encode() not in (r.value or b"")
    bs.figures(
        "oversized_inbound_record",
        accepted=len(sent) + len(tail),
        stored=sum(ids.values()),
        dead_lettered=len(letters),
        bad_records=len(bad_at),
        lost=len(want - set(ids)),
        double_counted=sum(n - 1 for n in ids.values()),
        process_exits=restarts,
    )
