"""The hash chain on a real SQLite file and a real PostgreSQL: kept with every write (also by
concurrent writers), and ``routing verify --chain`` finds rows edited, inserted and deleted
directly in the database, behind the application's back."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg import sql

from routing.config import Settings, StoreKind
from routing.demo.generator import generate_episodes
from routing.episodes.service import CareEpisodes
from routing.persistence.chained import check_chain
from routing.store import open_episodes
from tests import kafka_support as ks
from tests.audit_support import record


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def chained(request: pytest.FixtureRequest) -> Iterator[tuple[Settings, CareEpisodes]]:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    service = open_episodes(settings)
    for episode in generate_episodes(3, 40, start=date(2025, 1, 1), end=date(2025, 7, 1)):
        record(service, episode)
    yield settings, service
    service.close()


class Database:
    """Direct SQL on the store's events table, as someone bypassing the application would."""

    def __init__(self, settings: Settings, service: CareEpisodes) -> None:
        self.settings, self.recorder = settings, service.recorder
        table = self.recorder.events_table_name  # type: ignore[attr-defined]
        if settings.store is StoreKind.sqlite:
            self.table, self.id = table, "rowid"
        else:
            self.table = (
                sql.SQL("{}.{}")
                .format(sql.Identifier(settings.postgres_schema), sql.Identifier(table))
                .as_string()
            )
            self.id = "notification_id"

    def run(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        statement = statement.format(table=self.table, id=self.id)
        if self.settings.store is StoreKind.sqlite:
            with sqlite3.connect(self.settings.sqlite_path) as conn:
                return conn.execute(statement.replace("%s", "?"), params).fetchall()
        with psycopg.connect(str(self.settings.postgres_dsn), autocommit=True) as pg:
            cur = pg.execute(statement.encode(), params)  # type: ignore[call-overload]
            return cur.fetchall() if cur.description else []


def _verify_cli(settings: Settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routing.cli", "verify", "--chain"],
        env=ks.routing_env(settings), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_chain_is_kept_with_every_write(chained: tuple[Settings, CareEpisodes]) -> None:
    settings, service = chained
    report = check_chain(service.recorder)
    assert report.intact, report.findings
    assert report.checked == report.links == service.recorder.max_notification_id()
    done = _verify_cli(settings)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "intact" in done.stdout


def test_verify_finds_rows_edited_inserted_and_deleted_in_the_database(
    chained: tuple[Settings, CareEpisodes],
) -> None:
    settings, service = chained
    db = Database(settings, service)
    last = service.recorder.max_notification_id()
    assert last is not None
    deleted = 12

    def state_at(position: int) -> bytes:
        return bytes(db.run("SELECT state FROM {table} WHERE {id} = %s", (position,))[0][0])

    # the first episode fact from position 7 on (other rows are idempotency records), so the
    # test does not hang on the demo's exact sequence of facts
    edited = next(p for p in range(7, deleted) if b'"type":"' in state_at(p))
    state = state_at(edited)
    forged = state.replace(b'"type":"', b'"type":"x', 1)
    assert forged != state
    db.run("UPDATE {table} SET state = %s WHERE {id} = %s", (forged, edited))
    db.run("DELETE FROM {table} WHERE {id} = %s", (deleted,))
    origin, version, topic, body = db.run(
        "SELECT originator_id, originator_version, topic, state FROM {table} WHERE {id} = %s",
        (20,),
    )[0]
    db.run(
        "INSERT INTO {table} (originator_id, originator_version, topic, state) "
        "VALUES (%s, %s, %s, %s)",
        (origin, version + 1000, topic, body),
    )

    findings = check_chain(service.recorder).findings or []
    assert {(x.position, x.kind) for x in findings} == {
        (edited, "edited"),
        (deleted, "deleted"),
        (last + 1, "inserted"),
    }
    done = _verify_cli(settings)
    assert done.returncode == 1, done.stdout + done.stderr
    for needle in (f"edited at position {edited}", f"deleted at position {deleted}",
                   f"inserted at position {last + 1}"):  # fmt: skip
        assert needle in done.stdout, done.stdout


def test_a_link_edited_in_the_database_is_found(chained: tuple[Settings, CareEpisodes]) -> None:
    settings, service = chained
    db = Database(settings, service)
    chain_table = db.table.replace(
        service.recorder.events_table_name,  # type: ignore[attr-defined]
        service.recorder.events_table_name + "_chain",  # type: ignore[attr-defined]
    )
    with_chain = "UPDATE " + chain_table + " SET digest = %s WHERE position = %s"
    db.run(with_chain, ("0" * 64, 5))
    findings = check_chain(service.recorder).findings or []
    assert {(x.position, x.kind) for x in findings} == {(5, "edited"), (6, "edited")}


def test_concurrent_writers_keep_one_chain(chained: tuple[Settings, CareEpisodes]) -> None:
    """Two application instances (as two processes would: their own connections) write at
    the same time; the chain still follows the notification log exactly."""
    settings, first = chained
    second = open_episodes(settings)
    episodes = list(generate_episodes(4, 120, start=date(2025, 1, 1), end=date(2025, 7, 1)))
    errors: list[BaseException] = []

    def write(service: CareEpisodes, share: list[list[dict[str, Any]]]) -> None:
        try:
            for episode in share:
                record(service, episode)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(first, episodes[0::2])),
        threading.Thread(target=write, args=(second, episodes[1::2])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    second.close()
    assert not errors, errors
    report = check_chain(first.recorder)
    assert report.intact, report.findings
    assert report.checked == report.links == first.recorder.max_notification_id()


def test_an_anchor_finds_the_newest_rows_removed_with_their_links(
    chained: tuple[Settings, CareEpisodes],
) -> None:
    settings, service = chained
    db = Database(settings, service)
    head = check_chain(service.recorder).head
    assert head is not None
    table = service.recorder.events_table_name  # type: ignore[attr-defined]
    chain_table = db.table.replace(table, table + "_chain")
    db.run("DELETE FROM {table} WHERE {id} = %s", (head.position,))
    db.run("DELETE FROM " + chain_table + " WHERE position = %s", (head.position,))
    assert check_chain(service.recorder).intact, "without an anchor it cannot be told"
    done = subprocess.run(
        [sys.executable, "-m", "routing.cli", "verify", "--chain",
         "--anchor", f"{head.position}:{head.digest}"],
        env=ks.routing_env(settings), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"truncated at position {head.position}" in done.stdout


def test_a_store_older_than_the_chain_is_linked_once_but_an_emptied_chain_is_not(
    chained: tuple[Settings, CareEpisodes],
) -> None:
    settings, service = chained
    db = Database(settings, service)
    table = service.recorder.events_table_name  # type: ignore[attr-defined]
    chain_table = db.table.replace(table, table + "_chain")
    rows = service.recorder.max_notification_id()
    service.close()
    # Emptied behind the application's back: reopening must not hide it.
    db.run("DELETE FROM " + chain_table)
    reopened = open_episodes(settings)
    findings = check_chain(reopened.recorder).findings or []
    assert len(findings) == rows
    assert {x.kind for x in findings} == {"inserted"}
    reopened.close()
    # A store from before the chain (no chain table at all, and so from before the store's
    # migrations: no version table either) is linked when first opened.
    db.run("DROP TABLE " + chain_table)
    db.run("DROP TABLE " + db.table.replace(table, "alembic_version_store"))
    upgraded = open_episodes(settings)
    report = check_chain(upgraded.recorder)
    assert report.intact, report.findings
    assert report.links == rows
    upgraded.close()


def test_notification_ids_returned_are_the_rows_stored(
    chained: tuple[Settings, CareEpisodes],
) -> None:
    """Both recorders insert a write's rows in one statement and work the ids out (SQLite:
    consecutive up to ``last_insert_rowid()``): each id returned must be the row's own, and a
    duplicate aggregate version must refuse the whole write, leaving nothing behind."""
    import uuid as uuid_module

    from eventsourcing.persistence import IntegrityError, StoredEvent

    _, service = chained
    recorder: Any = service.recorder
    rows = [StoredEvent(uuid_module.uuid4(), 1, "t:T", b'{"n": %d}' % i) for i in range(7)]
    before = recorder.max_notification_id()
    ids = recorder.insert_events(rows)
    assert len(ids) == 7
    assert ids == sorted(ids)
    assert ids[0] > before
    for notification_id, row in zip(ids, rows, strict=True):
        (n,) = recorder.select_notifications(notification_id, 1)
        assert (n.originator_id, n.state) == (row.originator_id, row.state)
    assert check_chain(recorder).intact
    clash = [StoredEvent(uuid_module.uuid4(), 1, "t:T", b"{}"), rows[3]]
    top = recorder.max_notification_id()
    with pytest.raises(IntegrityError):  # the library's RecordConflictError is one
        recorder.insert_events(clash)
    assert recorder.max_notification_id() == top
    assert recorder.select_events(clash[0].originator_id) == []
