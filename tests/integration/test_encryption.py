"""Encryption at rest (the library's AES-GCM cipher through our rotating wrapper), on a SQLite
file and a real PostgreSQL: the raw rows hold no plaintext payload, reads and idempotent
retries work through the cipher, and key rotation re-encrypts every row."""

from __future__ import annotations

from uuid import UUID

import orjson
import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from routing.config import Settings, StoreKind
from routing.episodes.events import parse_event
from routing.keys import new_cipher_key
from routing.persistence.rekey import PlaintextFound, rekey
from routing.store import open_episodes
from tests import support as f

OLD, NEW = new_cipher_key(), new_cipher_key()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Settings:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    return settings


def keyed(settings: Settings, key: str | None, old: str | None = None) -> Settings:
    return settings.model_copy(
        update={
            "cipher_key": SecretStr(key) if key else None,
            "cipher_old_keys": SecretStr(old) if old else None,
        }
    )


def raw_states(settings: Settings) -> list[bytes]:
    if settings.store is StoreKind.sqlite:
        import sqlite3

        with sqlite3.connect(settings.sqlite_path) as conn:
            return [bytes(r[0]) for r in conn.execute("SELECT state FROM stored_events")]
    with psycopg.connect(str(settings.postgres_dsn)) as conn:
        table = sql.Identifier(settings.postgres_schema, "careepisodes_events")
        rows = conn.execute(sql.SQL("SELECT state FROM {}").format(table)).fetchall()
        return [bytes(r[0]) for r in rows]


def plaintext(state: bytes) -> bool:
    try:
        return isinstance(orjson.loads(state), dict)
    except orjson.JSONDecodeError:
        return False


def record_journeys(settings: Settings, n: int = 3) -> list[list[dict[str, object]]]:
    journeys = [f.typical_journey() for _ in range(n)]
    service = open_episodes(settings)
    try:
        for journey in journeys:
            service.record_batch([parse_event(b) for b in journey])
    finally:
        service.close()
    return journeys


def read_all(settings: Settings, journeys: list[list[dict[str, object]]]) -> None:
    """Every episode reads back whole, and a retry is recognised from the stored receipts."""
    service = open_episodes(settings)
    try:
        for journey in journeys:
            history = service.history(UUID(str(journey[0]["episode_id"])))
            assert [h.event_id for h in history] == [parse_event(b).event_id for b in journey]
            assert service.record(parse_event(journey[0])).replayed
    finally:
        service.close()


@pytest.fixture
def encrypted(store: Settings) -> Settings:
    return keyed(store, OLD)


def test_the_table_names_match_the_library() -> None:
    from routing.episodes.service import CareEpisodes
    from routing.persistence.rekey import PG_TABLE

    assert CareEpisodes.name.lower() + "_events" == PG_TABLE


def test_rows_hold_no_plaintext_payload(encrypted: Settings) -> None:
    journeys = record_journeys(encrypted)
    states = raw_states(encrypted)
    assert states
    for state in states:
        assert not plaintext(state)
        for marker in (b"contact_requested", b"occurred_at", f.PATIENT.encode(), b"event_id"):
            assert marker not in state
    if encrypted.store is StoreKind.sqlite:
        blob = b"".join(p.read_bytes() for p in encrypted.sqlite_path.parent.glob("routing.db*"))
        assert b"contact_requested" not in blob
        assert f.PATIENT.encode() not in blob
    read_all(encrypted, journeys)


def test_a_wrong_key_reads_nothing(encrypted: Settings) -> None:
    journeys = record_journeys(encrypted, 1)
    with pytest.raises(ValueError, match="cipher"):
        read_all(keyed(encrypted, NEW), journeys)


def test_rotation_re_encrypts_every_row(encrypted: Settings) -> None:
    journeys = record_journeys(encrypted)
    before = raw_states(encrypted)
    rotating = keyed(encrypted, NEW, OLD)  # step 1: new key, old one still accepted
    read_all(rotating, journeys)
    more = record_journeys(rotating, 1)  # new rows under the new key
    seen: list[tuple[int, int]] = []
    count = rekey(rotating, page=7, progress=lambda done, total: seen.append((done, total)))
    assert count.rewritten == len(before)
    assert count.current == len(raw_states(encrypted)) - len(before)
    assert seen[-1][0] == seen[-1][1]
    assert set(raw_states(encrypted)).isdisjoint(before)
    read_all(keyed(encrypted, NEW), journeys + more)  # step 3: the old key is gone
    with pytest.raises(ValueError, match="cipher"):
        read_all(keyed(encrypted, OLD), journeys)
    again = rekey(keyed(encrypted, NEW))  # idempotent
    assert again.rewritten == 0


def test_switching_encryption_on_for_a_plaintext_store(store: Settings) -> None:
    journeys = record_journeys(keyed(store, None))
    assert all(plaintext(s) for s in raw_states(store))
    with pytest.raises(PlaintextFound):
        rekey(keyed(store, NEW))
    count = rekey(keyed(store, NEW), include_plaintext=True)
    assert count.plaintext_encrypted == len(raw_states(store))
    assert not any(plaintext(s) for s in raw_states(store))
    read_all(keyed(store, NEW), journeys)
