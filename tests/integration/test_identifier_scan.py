"""C8 end to end: a realistic workload with real-format personnummer and samordningsnummer
through HTTP and the inbound topic (valid ones, invalid ones, poison messages), then a scan of
the store (the SQLite file's bytes, every PostgreSQL table), every topic on the real broker,
the HTTP responses and the captured logs for any raw identifier.

The inbound topic is the edge itself: front-ends put raw numbers there, so it is the one place
they may be found (its retention is the operators' to keep short); the test asserts exactly that.
The store runs encrypted, so the scan also checks that no plaintext payload is at rest and that
the relay, ingest and idempotent retries work through the cipher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from pydantic import SecretStr

from api.app import create_app
from routing import stack
from routing.config import Settings, StoreKind
from routing.episodes.service import CareEpisodes
from routing.keys import new_cipher_key
from routing.messaging.envelope import decode
from routing.messaging.ingest import Ingest
from routing.store import open_episodes
from tests import kafka_support as ks
from tests import support as f
from tests.auth_support import all_roles
from tests.identity_support import TestNumber, identity_numbers, leaks, spelled

pytestmark = pytest.mark.kafka

HTTP_PATIENTS = 12
KAFKA_PATIENTS = 12


@pytest.fixture
def encrypted(settings: Settings) -> Settings:
    return settings.model_copy(update={"cipher_key": SecretStr(new_cipher_key())})


@pytest.fixture
def service(encrypted: Settings) -> Iterator[CareEpisodes]:
    svc = open_episodes(encrypted)
    yield svc
    svc.close()


def _http_workload(client: TestClient, numbers: list[TestNumber]) -> list[str]:
    """Typical journeys whose patient is a raw number; returns every response text."""
    texts = []
    for i, number in enumerate(numbers):
        journey = f.typical_journey()
        journey[0]["patient"] = spelled(number, i)
        r = client.post("/events/batch", json={"events": journey})
        assert r.status_code == 201, r.text
        texts.append(r.text)
        # a retry of the opening fact: answered from its receipt (decrypted), not stored twice
        retry = client.post("/events", json=journey[0])
        assert retry.status_code == 201, retry.text
        assert retry.headers.get("idempotent-replayed") == "true"
        changed = dict(journey[0], source="another-source")
        assert client.post("/events", json=changed).status_code == 409
        texts.append(client.get(f"/episodes/{journey[0]['episode_id']}/history").text)
    # an invalid number: refused, naming the field, without repeating it
    bad = f.contact_requested(
        patient=numbers[0].twelve[:-1] + str((int(numbers[0].twelve[-1]) + 1) % 10)
    )
    r = client.post("/events", json=bad)
    assert r.status_code == 422
    assert r.json()["field"] == "patient"
    texts.append(r.text)
    return texts


def _kafka_messages(numbers: list[TestNumber]) -> list[bytes]:
    messages = []
    for i, number in enumerate(numbers):
        opened = f.contact_requested(patient=spelled(number, i))
        messages.append(orjson.dumps(opened))
    bad_check = numbers[0].twelve[:-1] + str((int(numbers[0].twelve[-1]) + 1) % 10)
    messages += [
        orjson.dumps(f.contact_requested(patient=bad_check)),  # invalid: dead-lettered
        orjson.dumps({**f.contact_requested(patient=numbers[1].twelve), "occurred_at": "naive"}),
        f"not json, patient {numbers[2].twelve}".encode(),  # poison holding a number
    ]
    return messages


def _sqlite_blobs(settings: Settings) -> list[tuple[str, bytes]]:
    path = settings.sqlite_path
    return [(p.name, p.read_bytes()) for p in path.parent.glob(path.name + "*")]


def _postgres_blobs(settings: Settings) -> list[tuple[str, bytes]]:
    blobs = []
    with psycopg.connect(str(settings.postgres_dsn)) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (settings.postgres_schema,),
        ).fetchall()
        assert tables
        for (table,) in tables:
            rows = conn.execute(
                sql.SQL("SELECT * FROM {}").format(sql.Identifier(settings.postgres_schema, table))
            ).fetchall()
            for row in rows:
                for value in row:
                    raw = (
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else str(value).encode()
                    )
                    blobs.append((f"{table}", raw))
    return blobs


def _record_blobs(name: str, records: list[Any]) -> list[tuple[str, bytes]]:
    blobs = []
    for r in records:
        blobs.append((f"{name}@{r.offset} value", r.value or b""))
        blobs.append((f"{name}@{r.offset} key", r.key or b""))
        for k, v in r.headers or ():
            blobs.append((f"{name}@{r.offset} header {k}", v or b""))
    return blobs


@pytest.mark.asyncio
async def test_no_raw_identifier_anywhere_but_the_inbound_topic(
    encrypted: Settings, service: CareEpisodes, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything of ours at DEBUG; aiokafka at the level `routing` configures (WARNING): at
    # DEBUG it dumps fetched record bytes, i.e. the inbound topic's own content.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="aiokafka")
    numbers = identity_numbers(HTTP_PATIENTS + KAFKA_PATIENTS)
    http_numbers, kafka_numbers = numbers[:HTTP_PATIENTS], numbers[HTTP_PATIENTS:]
    await ks.create_topics(encrypted)
    bootstrap = encrypted.kafka_bootstrap_servers
    assert bootstrap

    # HTTP edge
    with TestClient(create_app(encrypted, service=service), headers=all_roles()) as client:
        responses = _http_workload(client, http_numbers)

    # Kafka edge
    messages = _kafka_messages(kafka_numbers)
    await ks.produce(bootstrap, encrypted.inbound_topic, ((None, m) for m in messages))
    ingest = Ingest(
        service,
        bootstrap,
        encrypted.inbound_topic,
        encrypted.dead_letter_topic,
        group_id=f"scan-{uuid4().hex[:6]}",
        pseudonymiser=stack.pseudonymiser(encrypted),
    )
    relay = ks.relay_for(encrypted, service)
    async with ks.background() as workers:
        workers.start(ingest.run)
        await ks.eventually(
            lambda: ingest.applied + ingest.dead_lettered >= len(messages),
            what="inbound applied",
            workers=workers,
            timeout=60,
        )
        assert (ingest.applied, ingest.dead_lettered) == (KAFKA_PATIENTS, 3)
        facts = ks.stored_facts(service)
        workers.start(relay.run)
        await ks.eventually(
            lambda: relay.published_total >= len(facts), what="relay", workers=workers, timeout=60
        )

    events = await ks.read_topic(bootstrap, encrypted.events_topic)
    dead = await ks.read_topic(bootstrap, encrypted.dead_letter_topic)
    inbound = await ks.read_topic(bootstrap, encrypted.inbound_topic)
    assert len(events) == len(facts)
    assert len(dead) == 3
    # the relay read the encrypted store: facts arrive whole, with pseudonyms
    patients = {decode(r.value).data["patient"] for r in events if b"contact_requested" in r.value}
    assert len(patients) == HTTP_PATIENTS + KAFKA_PATIENTS
    assert all(p.startswith("psn_") for p in patients)

    store_blobs = (
        _sqlite_blobs(encrypted)
        if encrypted.store is StoreKind.sqlite
        else _postgres_blobs(encrypted)
    )
    everything = [
        *store_blobs,
        *_record_blobs("events", events),
        *_record_blobs("dead-letter", dead),
        *(("http", t.encode()) for t in responses),
        ("logs", caplog.text.encode()),
    ]
    assert caplog.text, "the logs were captured"
    assert leaks(everything, numbers) == []
    # the edge's own input is where they were
    assert len(leaks(_record_blobs("inbound", inbound), kafka_numbers)) >= KAFKA_PATIENTS

    # encrypted at rest: no plaintext payload in the raw store
    plaintext_markers = [
        b"contact_requested",
        f.PROVIDER.encode(),
        b"occurred_at",
        *[p.encode() for p in patients],
    ]
    for where, blob in store_blobs:
        for marker in plaintext_markers:
            assert marker not in blob, f"{marker!r} in plaintext in {where}"


def test_dead_letters_keep_their_bytes_when_no_identifier(tmp_path: Path) -> None:
    """Redaction rewrites only what holds an identity number."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, store="memory", pseudonym_key=SecretStr("k" * 40)
    )
    ingest = Ingest(
        open_episodes(settings),
        "unused:9092",
        "in",
        "dead",
        pseudonymiser=stack.pseudonymiser(settings),
    )
    raw = b"\xff\xfe binary \x00 bytes 12345 SE2321000115-094882"
    assert ingest.redactor.value(raw) is raw
    assert b"19121212" not in (ingest.redactor.value(b"x 19121212-1212 y") or b"")
    wrong = b'{"type": "contact_requested", "patient": "19121212-1213"}'
    assert ingest.redactor.value(wrong) == b'{"type": "contact_requested", "patient": "[redacted]"}'
    asyncio.run(asyncio.sleep(0))
