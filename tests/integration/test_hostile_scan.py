# Over 300 lines because one scan walks every way in and every place a number could be kept.
"""Issue 16, done-when: an identity number in every string field of every fact type (from
the event models' JSON Schema, tests/field_paths.py) over HTTP and the inbound topic, and in
every query and path parameter of every GET route (from the OpenAPI document); then the
number is looked for everywhere: the store's bytes (or every table), every read-model table
(the access trail included) after all projections ran, every topic but the inbound one (the
edge's own input), every HTTP answer and the logs. Only ``patient`` takes a number, as its
pseudonym: the same for every spelling of it, fullwidth and Arabic-Indic digits included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from uuid import uuid4

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from projections import PROJECTIONS
from projections.runner import ProjectionWorker
from routing import stack
from routing.config import Settings, StoreKind
from routing.decisions.question import AssessmentFacts, RoutingQuestion
from routing.episodes.service import CareEpisodes
from routing.keys import new_cipher_key
from routing.liability.billing import MonthClosed
from routing.messaging.envelope import decode
from routing.messaging.ingest import Ingest
from routing.store import open_episodes
from tests import kafka_support as ks
from tests import support as f
from tests.auth_support import all_roles
from tests.field_paths import dotted, model_strings, string_fields, with_value
from tests.identity_support import TestNumber, identity_numbers, leaks
from tests.integration.test_identifier_scan import _postgres_blobs, _record_blobs, _sqlite_blobs

pytestmark = pytest.mark.kafka


def _script(text: str, zero: int) -> str:
    return "".join(chr(zero + int(c)) if c.isdigit() else c for c in text)


def spellings(number: TestNumber, i: int) -> str:
    """Five ways front-ends write a number: 12 digits with and without dash, 10 with dash or
    plus, and (every fifth) in fullwidth digits."""
    forms = [
        f"{number.twelve[:8]}-{number.twelve[8:]}",
        number.twelve,
        f"{number.ten[:6]}-{number.ten[6:]}",
        number.ten,
        _script(f"{number.twelve[:8]}-{number.twelve[8:]}", 0xFF10),
    ]
    return forms[i % len(forms)]


def needles(number: TestNumber) -> list[bytes]:
    """Every byte form a leak could take: ASCII, and other scripts' digits as UTF-8 or as the
    JSON escapes of a serializer that escapes non-ASCII."""
    out = number.needles()
    for zero in (0xFF10, 0x0660):
        text = _script(number.ten, zero)
        out += [text.encode(), json.dumps(text).strip('"').encode()]
    return out


def _leaks(blobs: list[tuple[str, bytes]], numbers: list[TestNumber]) -> list[str]:
    found = leaks(blobs, numbers)
    for where, blob in blobs:
        for n in numbers:
            found += [f"{where}: {x!r}" for x in needles(n)[3:] if x in blob]
    return found


def _names(err: dict[str, Any], path: str) -> bool:
    """The 422 names the field: exactly, or its top field with the inner path in the text."""
    return err["field"] == path or (path.startswith(err["field"]) and path in err["message"])


def _tally(tally: dict[str, dict[int, int]], kind: str, status: int) -> None:
    by = tally.setdefault(kind, {})
    by[status] = by.get(status, 0) + 1


@pytest.fixture
def encrypted(settings: Settings) -> Settings:
    return settings.model_copy(update={"cipher_key": SecretStr(new_cipher_key())})


@pytest.fixture
def service(encrypted: Settings) -> Iterator[CareEpisodes]:
    svc = open_episodes(encrypted)
    yield svc
    svc.close()


def _fields(
    client: TestClient, numbers: Iterator[TestNumber], used: list[TestNumber], tally: Any
) -> tuple[list[str], list[bytes]]:
    """Every string field of every fact type over HTTP; returns the answers and the same
    bodies for the inbound topic (with other numbers)."""
    texts, wrong, messages = [], [], []
    for i, (fact, path, seed) in enumerate(string_fields()):
        if path == ("patient",):
            continue
        number = next(numbers)
        used.append(number)
        r = client.post("/events", json=with_value(fact, path, seed, spellings(number, i)))
        texts.append(r.text)
        _tally(tally, "fact string fields, HTTP", r.status_code)
        errors = r.json().get("errors", [])
        if r.status_code != 422 or not any(_names(e, dotted(path)) for e in errors):
            wrong.append(f"{fact}.{dotted(path)}: {r.status_code} {r.text[:300]}")
        other = next(numbers)
        used.append(other)
        body = with_value(fact, path, seed, spellings(other, i + 1))
        messages.append(orjson.dumps(body))
    assert wrong == []
    return texts, messages


def _bodies(
    client: TestClient, numbers: Iterator[TestNumber], used: list[TestNumber], tally: Any
) -> list[str]:
    """Every string field of the other bodies clients post: a routing question, a month
    closed (assessment and triage facts seeded so their fields are posted too)."""
    question = {
        "request_id": str(uuid4()),
        "planned_start": "2025-11-03T10:00:00+01:00",
        "home_region": {"county": "14", "municipality": "1480"},
        "care_region": "04",
        "requested_mode": "chat",
        "listed_unit_id": f.CLINIC,
        "triage": {"urgency": "within_days", "recommended_care_level": "primary"},
        "assessment": {
            k: v
            for k, v in f.need_and_suitability_assessed().items()
            if k in AssessmentFacts.model_fields
        },
    }
    close = {
        "event_id": str(uuid4()), "home_region": "14", "care_region": "04", "month": "2025-10",
        "occurred_at": "2025-11-05T10:00:00+01:00", "source": "finance",
    }  # fmt: skip
    texts, wrong = [], []
    for route, model, base in (
        ("/routing/decisions", RoutingQuestion, question),
        ("/finance/months/close", MonthClosed, close),
    ):
        assert client.post(
            route, json={**base, "request_id": str(uuid4())} if "request_id" in base else base
        ).status_code in (200, 201)
        for i, (path, seed) in enumerate(model_strings(model)):
            number = next(numbers)
            used.append(number)
            r = client.post(route, json=with_value(base, path, seed, spellings(number, i)))
            texts.append(r.text)
            _tally(tally, f"{route} body string fields, HTTP", r.status_code)
            errors = r.json().get("errors", [])
            if r.status_code != 422 or not any(_names(e, dotted(path)) for e in errors):
                wrong.append(f"{route} {dotted(path)}: {r.status_code} {r.text[:300]}")
    assert wrong == []
    return texts


def _patients(client: TestClient, number: TestNumber, tally: Any) -> list[str]:
    """One person in five spellings: five episodes, one pseudonym."""
    texts, episodes = [], []
    for i in range(5):
        body = f.contact_requested(patient=spellings(number, i))
        r = client.post("/events", json=body)
        _tally(tally, "patient, HTTP", r.status_code)
        assert r.status_code == 201, r.text
        texts.append(r.text)
        episodes.append(body["episode_id"])
    pseudonyms = set()
    for ep in episodes:
        r = client.get(f"/episodes/{ep}")
        texts.append(r.text)
        pseudonyms.add(r.json()["state"]["patient"])
    assert len(pseudonyms) == 1, pseudonyms
    return texts


def _parameters(
    client: TestClient, numbers: Iterator[TestNumber], used: list[TestNumber], tally: Any
) -> list[str]:
    """Every query and path parameter of every GET route in the OpenAPI document."""
    texts, wrong = [], []
    defaults = {"episode_id": str(uuid4()), "contact_id": "c1", "event_type": "contact_requested",
                "home_region": "14"}  # fmt: skip
    paths = client.get("/openapi.json").json()["paths"]
    for route, ops in paths.items():
        for i, p in enumerate(ops.get("get", {}).get("parameters", [])):
            number = next(numbers)
            used.append(number)
            value = spellings(number, i)
            values = dict(defaults)
            query = ""
            if p["in"] == "path":
                values[p["name"]] = value
            else:
                query = "?" + urlencode({p["name"]: value})
            url = route.format(**{k: quote(v, safe="") for k, v in values.items()}) + query
            r = client.get(url)
            texts.append(r.text)
            _tally(tally, f"{p['in']} parameters, HTTP", r.status_code)
            if (r.status_code, r.json().get("field")) != (422, f"{p['in']}.{p['name']}"):
                wrong.append(f"{url}: {r.status_code} {r.text[:200]}")
    assert wrong == []
    return texts


async def _project(settings: Settings) -> list[tuple[str, bytes]]:
    """Every projection over the whole event topic, into the API's read-model database."""
    with ks.read_models(settings) as db:
        for make in PROJECTIONS.values():
            projection = make(settings)
            await ks.project(
                db, settings, worker=ProjectionWorker(db, projection, settings.events_topic)
            )
    if settings.store is StoreKind.sqlite:
        path = Path(settings.projections_sqlite_path)
        return [(p.name, p.read_bytes()) for p in path.parent.glob(path.name + "*")]
    return _postgres_blobs(
        settings.model_copy(update={"postgres_schema": settings.projections_schema})
    )


@pytest.mark.asyncio
async def test_an_identity_number_in_every_field_and_parameter_is_kept_nowhere(
    encrypted: Settings, service: CareEpisodes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="aiokafka")
    pool = iter(identity_numbers(2000, seed=16))
    used: list[TestNumber] = []
    tally: dict[str, dict[int, int]] = {}
    await ks.create_topics(encrypted)
    bootstrap = encrypted.kafka_bootstrap_servers
    assert bootstrap

    person = next(pool)
    with TestClient(create_app(encrypted, service=service), headers=all_roles()) as client:
        texts, messages = _fields(client, pool, used, tally)
        texts += _patients(client, person, tally)
        texts += _bodies(client, pool, used, tally)
        texts += _parameters(client, pool, used, tally)
        # reads that do get recorded in the access trail, with ordinary queries
        texts.append(
            client.get("/finance/liability", params={"home_region": "14", "month": "2025-10"}).text
        )

    kafka_person = next(pool)
    messages += [
        orjson.dumps(f.contact_requested(patient=spellings(kafka_person, i))) for i in range(5)
    ]
    await ks.produce(bootstrap, encrypted.inbound_topic, ((None, m) for m in messages))
    ingest = Ingest(
        service, bootstrap, encrypted.inbound_topic, encrypted.dead_letter_topic,
        group_id=f"scan-{uuid4().hex[:6]}", pseudonymiser=stack.pseudonymiser(encrypted),
    )  # fmt: skip
    relay = ks.relay_for(encrypted, service)
    async with ks.background() as workers:
        workers.start(ingest.run)
        await ks.eventually(
            lambda: ingest.applied + ingest.dead_lettered >= len(messages),
            what="inbound applied", workers=workers, timeout=120,
        )  # fmt: skip
        facts = ks.stored_facts(service)
        workers.start(relay.run)
        await ks.eventually(
            lambda: relay.published_total >= len(facts), what="relay", workers=workers, timeout=60
        )
    tally["fact string fields, inbound topic"] = {
        201: ingest.applied - 5, 422: ingest.dead_lettered
    }  # fmt: skip
    tally["patient, inbound topic"] = {201: 5}
    assert (ingest.applied, ingest.dead_lettered) == (5, len(messages) - 5)

    events = await ks.read_topic(bootstrap, encrypted.events_topic)
    dead = await ks.read_topic(bootstrap, encrypted.dead_letter_topic)
    patients = {decode(r.value).data["patient"] for r in events if b"contact_requested" in r.value}
    assert len(patients) == 2  # one person per edge, whatever the spelling
    read_models = await _project(encrypted)
    store = (
        _sqlite_blobs(encrypted)
        if encrypted.store is StoreKind.sqlite
        else _postgres_blobs(encrypted)
    )
    everything = [
        *store,
        *read_models,
        *_record_blobs("events", events),
        *_record_blobs("dead-letter", dead),
        *(("http", t.encode()) for t in texts),
        ("logs", caplog.text.encode()),
    ]
    print("hostile scan, cases per class and status:", json.dumps(tally, sort_keys=True))
    print("scanned:", len(store), "store blobs,", len(read_models), "read-model blobs,",
          len(events), "events,", len(dead), "dead letters,", len(texts), "answers")  # fmt: skip
    assert len(dead) == len(messages) - 5
    assert _leaks(everything, [*used, person, kafka_person]) == []
