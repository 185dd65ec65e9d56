"""Issue 19: Alembic owns the durable read-model tables (access trail, projection positions).

On SQLite and on a real PostgreSQL (a schema of its own): a fresh database is upgraded to the
newest revision; a database laid out by the old hand-written ``CREATE TABLE`` code (the DDL is
written out here, as that code ran it) is adopted with its rows kept; one at the baseline is
upgraded to 0002 with its positions carried into the library-shaped tracking table; upgrading
again changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from psycopg import sql

from projections import base, migrate
from projections.db import PostgresReadModels, ReadModelDB, SQLiteReadModels
from projections.tables import DURABLE

DURABLE_NAMES = {t.name for t in DURABLE}
HEAD = "0002"


def _old_layout(dialect: str) -> list[str]:
    """The statements the code before migrations ran (projections/base.py, api/access_trail.py
    at a2000ec); the trail as it was before statuses were kept."""
    key = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [
        "CREATE TABLE IF NOT EXISTS projection_positions ("
        " projection TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL,"
        " next_offset BIGINT NOT NULL, PRIMARY KEY (projection, topic, part))",
        "CREATE TABLE IF NOT EXISTS projection_epochs ("
        " projection TEXT PRIMARY KEY, epoch INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS projection_store_positions ("
        " projection TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL,"
        " store_position BIGINT NOT NULL, PRIMARY KEY (projection, topic, part))",
        f"CREATE TABLE IF NOT EXISTS access_trail (id {key}, at TEXT NOT NULL,"
        " subject TEXT NOT NULL, roles TEXT NOT NULL, region TEXT, kind TEXT NOT NULL,"
        " method TEXT NOT NULL, path TEXT NOT NULL, query TEXT NOT NULL)",
        "INSERT INTO projection_positions VALUES ('episode_summary', 'events', 0, 41)",
        "INSERT INTO projection_epochs VALUES ('episode_summary', 3)",
        "INSERT INTO projection_store_positions VALUES ('episode_summary', 'events', 0, 40)",
        "INSERT INTO access_trail (at, subject, roles, region, kind, method, path, query)"
        " VALUES ('2025-10-01T00:00:00+00:00', 'clerk', 'finance', '14', 'finance', 'GET',"
        " '/finance/liability', 'home_region=14')",
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadModelDB]:
    if request.param == "sqlite":
        db: ReadModelDB = SQLiteReadModels(tmp_path / "read-models.db")
        yield db
        db.close()
        return
    dsn = request.getfixturevalue("postgres_database")
    schema = f"sql19_migrations_{uuid.uuid4().hex[:8]}"
    db = PostgresReadModels(dsn, schema)
    yield db
    db.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _tables(db: ReadModelDB) -> set[str]:
    with db.transaction() as cur:
        return set(sa.inspect(cur.conn).get_table_names())


def _upgrade(db: ReadModelDB) -> None:
    with db.transaction() as cur:
        migrate.upgrade(cur.conn)


def _revision(db: ReadModelDB) -> str | None:
    with db.transaction() as cur:
        return migrate.current(cur.conn)


def test_a_fresh_database_is_upgraded_to_the_durable_tables(fresh: ReadModelDB) -> None:
    assert _tables(fresh) == set()
    with fresh.transaction() as cur:
        cur.ensure_durable()  # what the first reader or runner does
    assert _tables(fresh) == DURABLE_NAMES | {"alembic_version"}
    assert _revision(fresh) == HEAD


def test_a_database_of_the_old_code_is_adopted_with_its_rows(fresh: ReadModelDB) -> None:
    with fresh.transaction() as cur:
        for statement in _old_layout(fresh.dialect):
            cur.execute(statement)
    with fresh.transaction() as cur:
        cur.ensure_durable()
    assert _revision(fresh) == HEAD
    with fresh.transaction() as cur:
        cur.execute("SELECT application_name, notification_id FROM projection_tracking")
        assert [tuple(r) for r in cur.fetchall()] == [("episode_summary:events:0", 41)]
        cur.execute("SELECT projection, epoch, generation FROM projection_epochs")
        assert [tuple(r) for r in cur.fetchall()] == [("episode_summary", 3, 1)]
        cur.execute("SELECT store_position FROM projection_store_positions")
        assert [tuple(r) for r in cur.fetchall()] == [(40,)]
        cur.execute("SELECT id, subject, path, status FROM access_trail")
        assert [tuple(r) for r in cur.fetchall()] == [(1, "clerk", "/finance/liability", None)]
        # The adopted trail takes new entries, numbered after the old ones.
        cur.execute(
            sa.text(
                "INSERT INTO access_trail (at, subject, roles, kind, method, path, query, status)"
                " VALUES (:at, 'auditor', 'auditor', 'audit', 'GET', '/access-trail', '', 200)"
            ),
            {"at": "2025-10-02T00:00:00+00:00"},
        )
        cur.execute("SELECT id FROM access_trail ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == [1, 2]


def test_a_database_that_does_not_match_is_not_adopted(fresh: ReadModelDB) -> None:
    with fresh.transaction() as cur:
        cur.execute("CREATE TABLE projection_epochs (projection TEXT PRIMARY KEY, era INTEGER)")
    with pytest.raises(migrate.AdoptionRefusedError, match="projection_epochs"):
        _upgrade(fresh)
    assert _revision(fresh) is None


def test_upgrading_twice_changes_nothing(fresh: ReadModelDB) -> None:
    _upgrade(fresh)
    with fresh.transaction() as cur:
        cur.execute("INSERT INTO projection_epochs (projection, epoch) VALUES ('necessity', 2)")
    before = _tables(fresh)
    _upgrade(fresh)
    assert _tables(fresh) == before
    assert _revision(fresh) == HEAD
    with fresh.transaction() as cur:
        cur.execute("SELECT projection, epoch, generation FROM projection_epochs")
        assert [tuple(r) for r in cur.fetchall()] == [("necessity", 2, 1)]


def test_positions_at_the_baseline_are_carried_into_tracking(fresh: ReadModelDB) -> None:
    """0002: each position row becomes the library-shaped tracking row its name gives
    (generation 1: no suffix); an unfinished rebuild's rows are dropped; epochs get
    generation 1; ``projection_positions`` is gone."""
    with fresh.transaction() as cur:
        command.upgrade(migrate.config(cur.conn), migrate.BASELINE)
        for statement in (
            "INSERT INTO projection_positions VALUES ('necessity', 'events', 0, 7)",
            "INSERT INTO projection_positions VALUES ('necessity', 'events', 1, 9)",
            "INSERT INTO projection_positions VALUES ('necessity__rebuild', 'events', 0, 3)",
            "INSERT INTO projection_epochs VALUES ('necessity', 2)",
            "INSERT INTO projection_epochs VALUES ('necessity__rebuild', 2)",
            "INSERT INTO projection_store_positions VALUES ('necessity', 'events', 0, 5)",
            "INSERT INTO projection_store_positions VALUES ('necessity__rebuild', 'events', 0, 1)",
        ):
            cur.execute(statement)
    assert _revision(fresh) == migrate.BASELINE
    _upgrade(fresh)
    assert _revision(fresh) == HEAD
    assert "projection_positions" not in _tables(fresh)
    with fresh.transaction() as cur:
        cur.execute("SELECT application_name, notification_id FROM projection_tracking ORDER BY 1")
        assert [tuple(r) for r in cur.fetchall()] == [
            ("necessity:events:0", 7),
            ("necessity:events:1", 9),
        ]
        cur.execute("SELECT projection, epoch, generation FROM projection_epochs")
        assert [tuple(r) for r in cur.fetchall()] == [("necessity", 2, 1)]
        cur.execute("SELECT projection, store_position FROM projection_store_positions")
        assert [tuple(r) for r in cur.fetchall()] == [("necessity", 5)]
        assert base.read_position(cur, "necessity", "events", 1, 1) == 9
        assert base.read_generation(cur, "necessity") == 1
    _upgrade(fresh)  # again: nothing changes
    assert _revision(fresh) == HEAD
