"""Bringing the event store's own tables to the current shape (Alembic, ``migrations/``).

Run by the recorders when the library creates its tables (``create_table``: every process
opening the store), so an old store is upgraded by whichever process opens it first:

- a fresh store gets its tables from the scripts;
- a store written before Alembic (tables, no version row) is adopted: the baseline checks
  the tables that are there, keeps their rows, creates those missing and writes the version;
- a store at the newest version is left alone (one SELECT of the version row).

Only the project's tables are here. The library's own (stored events, tracking) stay under the
library's schema management (``create_table`` of its recorders): their shape, indexes,
functions and composite types belong to the eventsourcing version pinned in pyproject.toml,
which creates them as that version reads them; declaring them here would fork its DDL and
break on its next change.

Concurrency: on PostgreSQL the upgrade runs in one transaction holding an advisory lock
(``MIGRATION_LOCK``), so processes starting together on an empty database take turns and the
later ones find the version row written (DDL is transactional there). ``routing.store`` also
holds its own lock (``DDL_LOCK``) around the whole opening, on another connection: a different
key, so the two never wait on each other. On SQLite the transaction starts with BEGIN
IMMEDIATE, the file's write lock, to the same effect. Both are taken before Alembic starts,
which also keeps threads of one process apart (Alembic's ``context`` is process-global).

The in-memory store has no tables: its recorder keeps the chain in a list, and the relay's
progress stays in a dict (``messaging/progress.py``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateSchema

from routing.persistence.tables import EVENTS_TABLE

MIGRATION_LOCK = 7_312_026  # pg_advisory_xact_lock key (routing.store.DDL_LOCK + 1)
SCRIPTS = Path(__file__).with_name("migrations")


def upgrade(engine: Engine, schema: str | None, events_table: str = EVENTS_TABLE) -> set[str]:
    """Brings the store behind ``engine`` to the newest version; returns the tables it created.

    ``schema``: the store's PostgreSQL schema (created if missing), None on SQLite."""
    # Alembic with mako is about 0.5 s of imports here: paid only by a process that opens a
    # SQLite or PostgreSQL store, not by the CLI's other commands or the memory store.
    # lazy: start-up
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    with engine.begin() as connection:
        if schema is not None:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            found = text("SELECT 1 FROM pg_namespace WHERE nspname = :schema")
            if connection.execute(found, {"schema": schema}).first() is None:
                connection.execute(CreateSchema(schema))  # (no CREATE right needed otherwise)
        config.attributes.update(
            connection=connection, schema=schema, events_table=events_table, created=set()
        )
        command.upgrade(config, "head")
    created: set[str] = config.attributes["created"]
    return created


def upgrade_store(datastore: Any, events_table: str = EVENTS_TABLE) -> set[str]:
    """``upgrade`` for the library's datastore (SQLite or PostgreSQL), on a connection of its
    own that is closed afterwards."""
    engine = engine_for(datastore)
    try:
        return upgrade(engine, getattr(datastore, "schema", None), events_table)
    finally:
        engine.dispose()


def engine_for(datastore: Any) -> Engine:
    """An engine reaching the same database as the library's datastore, without a pool."""
    pool = datastore.pool
    if hasattr(datastore, "schema"):
        kwargs = {k: v for k, v in pool.kwargs.items() if k != "row_factory"}
        return create_engine(
            "postgresql+psycopg://",
            creator=lambda: psycopg.connect(connect_timeout=10, **kwargs),
            poolclass=NullPool,
        )
    if pool.is_sqlite_memory_mode:  # another connection would see another database
        raise ValueError("the store's tables are migrated on an SQLite file, not in memory")
    return sqlite_engine(pool.db_name)


def sqlite_engine(path: str) -> Engine:
    """An engine on an SQLite file whose transactions start with BEGIN IMMEDIATE."""
    engine = create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(path, uri=True, isolation_level=None, timeout=30),
        poolclass=NullPool,
    )
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine
