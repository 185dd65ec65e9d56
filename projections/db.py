"""The read-model database: SQLite (embedded default) or PostgreSQL, behind one small interface.

Both run on a SQLAlchemy engine, so projections write one statement for both dialects
(projections/cursor.py, projections/tables.py). A projection's view update and its Kafka
positions are written through one ``transaction`` so a redelivered message can never count
twice. The durable tables are brought to the newest migration once per database, by the
first transaction that needs them (projections/migrate.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg_pool import ConnectionPool
from sqlalchemy.dialects.postgresql.psycopg import _log_notices
from sqlalchemy.pool import NullPool, StaticPool

from projections import migrate
from projections.cursor import Cursor, write_rows
from routing.config import Settings, StoreKind
from routing.operations.resilience import RECONNECT_SECONDS
from routing.store import DDL_LOCK

__all__ = ["Cursor", "ReadModelDB", "write_rows"]

READ_MODEL_WAIT_SECONDS = 2.0
"""How long a transaction waits for a connection before failing (PoolTimeout): long enough
for a busy pool, short enough that a probe or a request is answered while PostgreSQL is away."""


class ReadModelDB:
    dialect: str
    engine: sa.Engine

    def __init__(self) -> None:
        self._durable = False

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        raise NotImplementedError
        yield

    def close(self) -> None:
        raise NotImplementedError

    def lock_partition(self, cur: Cursor, key: str, partition: int) -> None:
        """Serialises writers of one projection's partition (SQLite: BEGIN IMMEDIATE does)."""
        return None

    def _ensure_durable(self, cur: Cursor) -> None:
        """Upgrades the durable tables, once per database and process (the flag is set when
        the transaction that did it commits)."""
        if not self._durable and not cur.migrated:
            cur.lock_ddl()
            migrate.upgrade(cur.conn)
            cur.migrated = True

    def _committed(self, cur: Cursor) -> None:
        if cur.migrated:
            self._durable = True


class SQLiteReadModels(ReadModelDB):
    dialect = "sqlite"

    def __init__(self, path: Path, *, scratch: bool = False) -> None:
        """``scratch``: a database a crash may lose (a replay starts again from nothing), so
        commits are not synced, the page cache is larger, and the rollback journal is kept
        in memory: a page's transaction can still roll back, but its pages are written once,
        into the file, instead of into a write-ahead log and again by its checkpoints (a
        replay's commits got 7 % faster).

        One connection, shared by the threads under a lock (StaticPool): SQLite has one
        writer at a time anyway, and ``BEGIN IMMEDIATE`` takes the write lock up front."""
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA journal_mode={'MEMORY' if scratch else 'WAL'}")
        self._conn.execute(f"PRAGMA synchronous={'OFF' if scratch else 'NORMAL'}")
        self._conn.execute("PRAGMA busy_timeout=10000")
        if scratch:
            self._conn.execute("PRAGMA cache_size=-131072")  # KiB: 128 MiB
        self._lock = threading.Lock()
        self.engine = sa.create_engine(
            "sqlite://", creator=lambda: self._conn, poolclass=StaticPool
        )
        self._connection = self.engine.connect()

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._lock:
            conn = self._connection
            cur = Cursor(conn, self.dialect, self._ensure_durable)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield cur
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            self._committed(cur)

    def close(self) -> None:
        self._connection.close()
        self.engine.dispose()
        self._conn.close()


class PostgresReadModels(ReadModelDB):
    """Read models on PostgreSQL through a pool of connections (psycopg_pool), under a
    SQLAlchemy engine that takes its connections from that pool (``NullPool``: closing one
    returns it to psycopg's pool, ``close_returns``).

    One connection held for the process's life never recovers from a server restart: every
    later query fails with "the connection is lost". The pool checks a connection before
    handing it out (an empty query) and replaces a broken one, and reconnects in the
    background while the server is away, so the API's reads and the runners' pages work again
    as soon as PostgreSQL is back. A transaction that meets the outage fails with
    ``sqlalchemy.exc.OperationalError`` over psycopg's (``PoolTimeout`` while no connection
    can be made): the API answers 503, a runner starts its page again
    (routing.operations.resilience).
    """

    dialect = "postgres"

    def __init__(self, dsn: str, schema: str, *, scratch: bool = False, max_size: int = 4) -> None:
        """``scratch``: commits do not wait for the WAL flush (a replay lost to a crash is
        started again; it is never the record). ``max_size``: connections at most (the API
        reads from several threads; a runner process writes from one per projection)."""
        super().__init__()
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
            close_returns=True,
            open=True,
        )
        self.engine = sa.create_engine(
            "postgresql+psycopg://", creator=self._pool.getconn, poolclass=NullPool
        )
        sa.event.listen(self.engine, "close", self._returned)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self.engine.connect() as conn:  # closed on an error: rolled back, returned
            cur = Cursor(conn, self.dialect, self._ensure_durable)
            yield cur
            conn.commit()
            self._committed(cur)

    def close(self) -> None:
        self.engine.dispose()
        self._pool.close()

    def _returned(self, dbapi_conn: Any, _record: Any) -> None:
        """SQLAlchemy lets a connection go (before closing it). Its notice handler, added each
        time the connection is handed out, is taken off (the pool hands the same ones out
        again). A connection a server restart broke is given back here: its ``close()`` does
        nothing once it is broken, so ``close_returns`` would never return it, and the pool
        would stay short of it for good (every later transaction: PoolTimeout)."""
        with contextlib.suppress(ValueError):
            dbapi_conn.remove_notice_handler(_log_notices)
        if dbapi_conn.closed:
            with contextlib.suppress(Exception):
                self._pool.putconn(dbapi_conn)  # discarded there, and replaced

    def lock_partition(self, cur: Cursor, key: str, partition: int) -> None:
        """During a rebalance a departing consumer may still apply a page the new owner also
        applies: whoever comes second waits, then finds the position moved and skips it."""
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext(:key), :part)", {"key": key, "part": partition}
        )


def open_read_models(settings: Settings) -> ReadModelDB:
    if settings.store is StoreKind.postgres:
        assert settings.postgres_dsn is not None
        return PostgresReadModels(str(settings.postgres_dsn), settings.projections_schema)
    if settings.store is StoreKind.memory:
        return SQLiteReadModels(Path(":memory:"))
    return SQLiteReadModels(settings.projections_sqlite_path)
