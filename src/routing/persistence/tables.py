"""The event store's own tables, declared once (SQLAlchemy Core), and statements over them.

Beside the library's tables (stored events, tracking) the store database holds three tables of
the project's: the relay's progress, the ingest consumer's log generation, and the audit hash
chain (``<events table>_chain``). Their shape is this module's ``MetaData``; their history is
the Alembic package beside it (``routing.persistence.migrations``, run by ``migrate.py``), and
a test checks the two agree.

Statements are built with Core and compiled once for the store's backend with named binds,
then run on the library's own cursors (``datastore.transaction``): one connection pool per
store, with the library's connection settings and the shared retry policy, rather than a
second SQLAlchemy pool beside it. The chain's statements stay in the recorders, beside the
library's statements they run with in the same write transaction (``pgrecorder.py``: one
``unnest`` insert a write, measured; SQLite: one ``executemany``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ClauseElement

EVENTS_TABLE = "stored_events"  # the library's name on SQLite (PostgreSQL: careepisodes_events)

# SQLite keys the chain by its rowid only when the column is spelled INTEGER PRIMARY KEY.
_POSITION = BigInteger().with_variant(Integer(), "sqlite")


def store_metadata(schema: str | None, events_table: str = EVENTS_TABLE) -> MetaData:
    """The project's tables of one store: ``schema`` on PostgreSQL, None on SQLite."""
    metadata = MetaData(schema=schema)
    Table(
        "relay_progress",
        metadata,
        Column("topic", Text, primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("epoch", Integer, nullable=False),
        Column("cluster_id", Text),
        Column("probe_partition", Integer),
        Column("probe_offset", BigInteger),
        Column("probe_event_id", Text),
    )
    Table(
        "ingest_progress",
        metadata,
        Column("topic", Text, primary_key=True),
        Column("generation", Integer, nullable=False),
        Column("cluster_id", Text),
    )
    Table(
        f"{events_table}_chain",
        metadata,
        Column("position", _POSITION, primary_key=True, autoincrement=False),
        Column("previous_position", _POSITION, nullable=False),
        Column("digest", Text, nullable=False),
    )
    return metadata


def table(metadata: MetaData, name: str) -> Table:
    key = f"{metadata.schema}.{name}" if metadata.schema else name
    return metadata.tables[key]


_DIALECTS = {
    True: postgresql.psycopg.dialect(),  # type: ignore[no-untyped-call]
    False: sqlite.pysqlite.dialect(paramstyle="named"),
}


def compile_for(statement: ClauseElement, postgres: bool) -> str:
    """SQL text as the DBAPI takes it, with named binds (``%(name)s`` for psycopg, ``:name``
    for sqlite3), to be bound with a dict."""
    return str(statement.compile(dialect=_DIALECTS[postgres]))


def upsert(t: Table, postgres: bool) -> str:
    """INSERT of every column (binds named as the columns) that replaces the row with the
    same primary key."""
    insert = postgresql.insert if postgres else sqlite.insert
    stmt = insert(t).values({c.name: bindparam(c.name) for c in t.c})
    keys = [c for c in t.c if c.primary_key]
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c.name: stmt.excluded[c.name] for c in t.c if not c.primary_key}
    )
    return compile_for(stmt, postgres)


def select_by_key(t: Table, postgres: bool) -> str:
    """Every column of the row whose primary key (one column) is the bind of its name."""
    (key,) = [c for c in t.c if c.primary_key]
    return compile_for(select(t).where(key == bindparam(key.name)), postgres)


@dataclass(frozen=True)
class ProgressStatements:
    load_relay: str
    save_relay: str
    load_ingest: str
    save_ingest: str


@cache
def progress_statements(schema: str | None) -> ProgressStatements:
    """The relay's and the ingest consumer's statements for a store (``schema`` None: SQLite)."""
    metadata = store_metadata(schema)
    relay, ingest = table(metadata, "relay_progress"), table(metadata, "ingest_progress")
    postgres = schema is not None
    return ProgressStatements(
        load_relay=select_by_key(relay, postgres),
        save_relay=upsert(relay, postgres),
        load_ingest=select_by_key(ingest, postgres),
        save_ingest=upsert(ingest, postgres),
    )
