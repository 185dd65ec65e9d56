"""Re-encrypting the stored events under the current cipher key (key rotation).

Stored events never change, so rewriting a row's ciphertext races with nothing but another
rotation. Rows are read and rewritten in pages of ``page`` rows by their primary key, each
page in its own transaction: a rotation can be interrupted and run again. Rows already under
the current key are left alone; rows in plaintext (a store written before encryption was
switched on) are encrypted only when asked to (``include_plaintext``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from eventsourcing.utils import Environment
from psycopg import sql

from routing.config import Settings, StoreKind
from routing.persistence.cipher import RotatingAESCipher

TABLE = "stored_events"  # SQLite's table; PostgreSQL's is named after the application
PG_TABLE = "careepisodes_events"


@dataclass
class RekeyCount:
    rewritten: int = 0
    current: int = 0
    plaintext_encrypted: int = 0


class PlaintextFound(RuntimeError):  # noqa: N818
    """A row is not encrypted under any configured key and include_plaintext was not set."""


def _is_plaintext(state: bytes) -> bool:
    """A JSON object (what the transcoder writes). Only asked of rows no key opens: a
    ciphertext may start with '{' by chance, but does not parse."""
    try:
        return isinstance(orjson.loads(state), dict)
    except orjson.JSONDecodeError:
        return False


def rekey(
    settings: Settings,
    *,
    include_plaintext: bool = False,
    page: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> RekeyCount:
    if settings.cipher_key is None:
        raise ValueError("ROUTING_CIPHER_KEY is not set: nothing to encrypt with")
    cipher = RotatingAESCipher(Environment(env=settings.persistence_env()))
    count = RekeyCount()
    with _table(settings) as table:
        total = table.count()
        after: tuple[Any, int] | None = None
        done = 0
        while rows := table.page(after, page):
            updates = []
            for originator_id, version, state in rows:
                state = bytes(state)
                if cipher.is_current(state):
                    count.current += 1
                    continue
                try:
                    plain = cipher.decrypt(state)
                    count.rewritten += 1
                except ValueError:
                    if not _is_plaintext(state):
                        raise  # no configured key opens it
                    if not include_plaintext:
                        raise PlaintextFound(
                            f"event {originator_id} v{version} is stored in plaintext; "
                            "run with --include-plaintext to encrypt it"
                        ) from None
                    plain = state
                    count.plaintext_encrypted += 1
                updates.append((cipher.encrypt(plain), originator_id, version))
            table.update(updates)
            after = (rows[-1][0], rows[-1][1])
            done += len(rows)
            if progress is not None:
                progress(done, total)
    return count


class _Table:
    def count(self) -> int:
        raise NotImplementedError

    def page(self, after: tuple[Any, int] | None, size: int) -> list[tuple[Any, int, Any]]:
        raise NotImplementedError

    def update(self, rows: list[tuple[bytes, Any, int]]) -> None:
        raise NotImplementedError


class _SQLiteTable(_Table):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def count(self) -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])  # noqa: S608

    def page(self, after: tuple[Any, int] | None, size: int) -> list[tuple[Any, int, Any]]:
        query = f"SELECT originator_id, originator_version, state FROM {TABLE}"  # noqa: S608
        order = " ORDER BY originator_id, originator_version LIMIT ?"
        if after is None:
            return list(self.conn.execute(query + order, (size,)))
        where = " WHERE (originator_id, originator_version) > (?, ?)"
        return list(self.conn.execute(query + where + order, (*after, size)))

    def update(self, rows: list[tuple[bytes, Any, int]]) -> None:
        with self.conn:
            self.conn.executemany(
                f"UPDATE {TABLE} SET state = ? WHERE originator_id = ? AND originator_version = ?",  # noqa: S608
                rows,
            )


class _PostgresTable(_Table):
    def __init__(self, conn: psycopg.Connection[Any], schema: str) -> None:
        self.conn = conn
        self.table = sql.Identifier(schema or "public", PG_TABLE)

    def count(self) -> int:
        row = self.conn.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(self.table)).fetchone()
        assert row is not None
        return int(row[0])

    def page(self, after: tuple[Any, int] | None, size: int) -> list[tuple[Any, int, Any]]:
        query = sql.SQL("SELECT originator_id, originator_version, state FROM {}").format(
            self.table
        )
        order = sql.SQL(" ORDER BY originator_id, originator_version LIMIT %s")
        if after is None:
            rows = self.conn.execute(query + order, (size,)).fetchall()
        else:
            where = sql.SQL(" WHERE (originator_id, originator_version) > (%s, %s)")
            rows = self.conn.execute(query + where + order, (*after, size)).fetchall()
        self.conn.commit()
        return [(r[0], r[1], r[2]) for r in rows]

    def update(self, rows: list[tuple[bytes, Any, int]]) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                sql.SQL(
                    "UPDATE {} SET state = %s WHERE originator_id = %s AND originator_version = %s"
                ).format(self.table),
                rows,
            )


@contextmanager
def _table(settings: Settings) -> Iterator[_Table]:
    if settings.store is StoreKind.sqlite:
        conn = sqlite3.connect(settings.sqlite_path, timeout=30)
        try:
            yield _SQLiteTable(conn)
        finally:
            conn.close()
    elif settings.store is StoreKind.postgres:
        assert settings.postgres_dsn is not None
        with psycopg.connect(str(settings.postgres_dsn)) as pg:
            yield _PostgresTable(pg, settings.postgres_schema)
    else:
        raise ValueError("the in-memory store keeps nothing at rest")
