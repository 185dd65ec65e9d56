"""The read-model database: SQLite (embedded default) or PostgreSQL, behind one small interface.

Projections write SQL with ``%s`` placeholders; for SQLite they are rewritten to ``?``. A
projection's view update and its Kafka positions are written through one ``transaction`` so a
redelivered message can never count twice.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from routing.config import Settings, StoreKind
from routing.operations.resilience import RECONNECT_SECONDS
from routing.store import DDL_LOCK

READ_MODEL_WAIT_SECONDS = 2.0
"""How long a transaction waits for a connection before failing (PoolTimeout): long enough
for a busy pool, short enough that a probe or a request is answered while PostgreSQL is away."""


class Cursor(Protocol):
    def execute(self, query: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, query: str, params_seq: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class ReadModelDB:
    dialect: str

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        raise NotImplementedError
        yield

    def close(self) -> None:
        raise NotImplementedError

    def lock_partition(self, cur: Cursor, key: str, partition: int) -> None:
        """Serialises writers of one projection's partition (SQLite: BEGIN IMMEDIATE does)."""
        return None


class _SQLiteCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._c = cursor

    def execute(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self._c.execute(query.replace("%s", "?"), tuple(params))

    def executemany(self, query: str, params_seq: Sequence[Sequence[Any]]) -> Any:
        return self._c.executemany(query.replace("%s", "?"), [tuple(p) for p in params_seq])

    def fetchone(self) -> Any:
        return self._c.fetchone()

    def fetchall(self) -> list[Any]:
        return self._c.fetchall()


def write_rows(
    cur: Cursor,
    head: str,
    rows: Sequence[Sequence[Any]],
    tail: str = "",
    types: Sequence[str] = (),
) -> None:
    """``{head} VALUES (...) {tail}`` for many rows; ``head`` names the columns.

    On PostgreSQL the rows go as one array per column through ``unnest``: one statement,
    planned once, instead of a round of parse-bind-execute per row (executemany was half of a
    projection's page time). ``types`` are the columns' SQL types (default text).
    On SQLite, executemany is already cheap (no network, statement cache).
    """
    if not rows:
        return
    width = len(rows[0])
    if isinstance(cur, _SQLiteCursor):
        cur.executemany(f"{head} VALUES ({', '.join(['%s'] * width)}) {tail}", rows)
        return
    kinds = list(types) or ["text"] * width
    arrays = ", ".join(f"%s::{kind}[]" for kind in kinds)
    cur.execute(
        f"{head} SELECT * FROM unnest({arrays}) {tail}", [list(c) for c in zip(*rows, strict=True)]
    )


class SQLiteReadModels(ReadModelDB):
    dialect = "sqlite"

    def __init__(self, path: Path, *, scratch: bool = False) -> None:
        """``scratch``: a database a crash may lose (a replay starts again from nothing), so
        commits are not synced, the page cache is larger, and the rollback journal is kept
        in memory: a page's transaction can still roll back, but its pages are written once,
        into the file, instead of into a write-ahead log and again by its checkpoints (a
        replay's commits got 7 % faster)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA journal_mode={'MEMORY' if scratch else 'WAL'}")
        self._conn.execute(f"PRAGMA synchronous={'OFF' if scratch else 'NORMAL'}")
        self._conn.execute("PRAGMA busy_timeout=10000")
        if scratch:
            self._conn.execute("PRAGMA cache_size=-131072")  # KiB: 128 MiB
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteCursor(cursor)
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    def close(self) -> None:
        self._conn.close()


class _DDLSerialised:
    """A PostgreSQL cursor whose transaction takes the DDL lock before its first CREATE, DROP
    or ALTER: processes and threads creating the same tables at once otherwise race on the
    catalogue ("duplicate key value violates unique constraint pg_type_typname_nsp_index"),
    which ended a projection process started beside the API."""

    def __init__(self, cursor: Any) -> None:
        self._c = cursor
        self._locked = False

    def execute(self, query: str, params: Sequence[Any] = ()) -> Any:
        if not self._locked and query.lstrip()[:6].upper().startswith(_DDL):
            self._c.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
            self._locked = True
        return self._c.execute(query, params)

    def executemany(self, query: str, params_seq: Sequence[Sequence[Any]]) -> Any:
        return self._c.executemany(query, params_seq)

    def fetchone(self) -> Any:
        return self._c.fetchone()

    def fetchall(self) -> list[Any]:
        return self._c.fetchall()  # type: ignore[no-any-return]


_DDL = ("CREATE", "DROP", "ALTER")


class PostgresReadModels(ReadModelDB):
    """Read models on PostgreSQL through a pool of connections (psycopg_pool).

    One connection held for the process's life never recovers from a server restart: every
    later query fails with "the connection is lost". The pool checks a connection before
    handing it out (an empty query) and replaces a broken one, and reconnects in the
    background while the server is away, so the API's reads and the runners' pages work again
    as soon as PostgreSQL is back. A transaction that meets the outage fails with
    ``psycopg.OperationalError`` (``PoolTimeout`` while no connection can be made): the API
    answers 503, a runner starts its page again (routing.operations.resilience).
    """

    dialect = "postgres"

    def __init__(
        self, dsn: str, schema: str, *, scratch: bool = False, max_size: int = 4
    ) -> None:
        """``scratch``: commits do not wait for the WAL flush (a replay lost to a crash is
        started again; it is never the record). ``max_size``: connections at most (the API
        reads from several threads; a runner process writes from one per projection)."""
        with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        settings = sql.SQL("SET search_path TO {}").format(sql.Identifier(schema))

        def configure(conn: psycopg.Connection[Any]) -> None:
            conn.execute(settings)
            if scratch:
                conn.execute("SET synchronous_commit = off")
            conn.commit()

        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            dsn,
            min_size=1,
            max_size=max_size,
            configure=configure,
            check=ConnectionPool.check_connection,
            timeout=READ_MODEL_WAIT_SECONDS,
            reconnect_timeout=RECONNECT_SECONDS,
            name=f"read-models-{schema}",
            open=True,
        )

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield _DDLSerialised(cursor)

    def close(self) -> None:
        self._pool.close()

    def lock_partition(self, cur: Cursor, key: str, partition: int) -> None:
        """During a rebalance a departing consumer may still apply a page the new owner also
        applies: whoever comes second waits, then finds the position moved and skips it."""
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s), %s)", (key, partition))


def open_read_models(settings: Settings) -> ReadModelDB:
    if settings.store is StoreKind.postgres:
        assert settings.postgres_dsn is not None
        return PostgresReadModels(str(settings.postgres_dsn), settings.projections_schema)
    if settings.store is StoreKind.memory:
        return SQLiteReadModels(Path(":memory:"))
    return SQLiteReadModels(settings.projections_sqlite_path)
