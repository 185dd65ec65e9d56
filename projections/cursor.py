"""The cursor a projection writes through: one SQLAlchemy connection inside one transaction.

Statements are SQLAlchemy Core constructs or ``sa.text`` with named binds (``:name``), so the
same statement runs on SQLite and PostgreSQL without rewriting it; a driver-style ``%s``
string is refused (nothing translates placeholders any more). The helpers are what the
projections need from a database, dialect by dialect: ``upsert`` (the dialect's
``INSERT ... ON CONFLICT``), ``insert_rows``/``write_rows`` (many rows at executemany speed)
and ``create`` (the declared tables of projections/tables.py, ``IF NOT EXISTS``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.schema import CreateIndex, CreateTable, ExecutableDDLElement

from routing.store import DDL_LOCK

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None

_DDL = ("CREATE", "DROP", "ALTER")
text = lru_cache(maxsize=1024)(sa.text)
"""``sa.text`` remembered by its string: a projection runs the same few statements per page,
and parsing their binds again each time is measurable in a replay."""


class DriverPlaceholderError(ValueError):
    """A statement written with ``%s`` placeholders (the old dialect layer's style)."""


class Cursor:
    """One transaction's statements; ``fetchone``/``fetchall`` read the last one's rows."""

    def __init__(
        self,
        conn: sa.Connection,
        dialect: str,
        durable: Callable[[Cursor], None] | None = None,
    ) -> None:
        self.conn, self.dialect = conn, dialect
        self._durable = durable
        self._result: CursorResult[Any] | sqlite3.Cursor | None = None
        self._ddl_locked = dialect != "postgres"  # SQLite: BEGIN IMMEDIATE serialises DDL
        self.migrated = False
        self._sqlite: sqlite3.Connection | None = (
            conn.connection.driver_connection if dialect != "postgres" else None  # type: ignore[assignment]
        )

    def execute(self, statement: Any, params: Params = None) -> Cursor:
        """Runs a Core construct, ``sa.text`` or a string with named binds; ``params`` a
        mapping, or a sequence of mappings (executemany)."""
        if isinstance(statement, str | sa.TextClause):
            sql = statement if isinstance(statement, str) else statement.text
            if "%s" in sql:
                raise DriverPlaceholderError(
                    f"driver-style %s placeholders are not translated; use :name binds: "
                    f"{sql[:80]!r}"
                )
        if isinstance(statement, str):
            ddl = statement.lstrip()[:6].upper().startswith(_DDL)
            if self._sqlite is not None and not ddl:
                return self._on_sqlite(statement, params)
            if not self._ddl_locked and ddl:
                self.lock_ddl()
            statement = text(statement)
        elif not self._ddl_locked and _is_ddl(statement):
            self.lock_ddl()
        self._result = self.conn.execute(statement, params)  # type: ignore[arg-type]
        return self

    def _on_sqlite(self, sql: str, params: Params) -> Cursor:
        """A string statement on SQLite goes straight to sqlite3, which reads ``:name`` binds
        itself: SQLAlchemy's execution context cost 14 us a statement against sqlite3's 2
        (16.6 / 2.3 us, an upsert, 2026-12-04), which made the live runners of row-by-row
        projections twice as costly per event (benchmarks/before_after.py, kafka). Errors are
        wrapped as SQLAlchemy would wrap them, so callers catch one family."""
        assert self._sqlite is not None
        cursor = self._sqlite.cursor()
        try:
            if params is None or isinstance(params, Mapping):
                cursor.execute(sql, params or {})
            else:
                cursor.executemany(sql, params)
        except sqlite3.Error as e:
            raise sa.exc.DBAPIError.instance(sql, params, e, sqlite3.Error) from e
        self._result = cursor
        return self

    def execute_positional(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """SQLite: many rows of ``?`` marks straight to sqlite3's executemany (through
        SQLAlchemy's ``exec_driver_sql`` a live runner's page cost a fifth more)."""
        assert self._sqlite is not None, "positional marks are SQLite's"
        try:
            self._result = self._sqlite.executemany(sql, rows)
        except sqlite3.Error as e:
            raise sa.exc.DBAPIError.instance(sql, rows, e, sqlite3.Error) from e

    def fetchone(self) -> Any:
        """The next row (a ``Row``: a tuple, indexable and unpackable), or None."""
        assert self._result is not None
        return self._result.fetchone()

    def fetchall(self) -> list[Any]:
        assert self._result is not None
        return list(self._result.fetchall())

    def stream(self, sql: str, params: Params, chunk: int) -> Iterator[tuple[Any, ...]]:
        """The rows of a query too large to hold, ``chunk`` rows fetched at a time (PostgreSQL:
        a server-side cursor; SQLite: sqlite3's own cursor, past SQLAlchemy's row objects)."""
        if self._sqlite is not None:
            cursor = self._on_sqlite(sql, params)._result
            assert isinstance(cursor, sqlite3.Cursor)
            while rows := cursor.fetchmany(chunk):
                yield from rows
            return
        # Options on the statement: a connection's execution_options() set them on the
        # connection itself, and every later statement of the transaction went through a
        # server-side cursor too ("DECLARE ... CURSOR FOR CREATE ..." is a syntax error).
        statement = sa.text(sql).execution_options(stream_results=True, yield_per=chunk)
        for row in self.conn.execute(statement, params):  # type: ignore[arg-type]
            yield tuple(row)

    @property
    def rowcount(self) -> int:
        """Rows the last statement inserted, updated or deleted."""
        assert self._result is not None
        return int(self._result.rowcount)

    def scalar(self) -> Any:
        row = self.fetchone()
        return None if row is None else row[0]

    def lock_ddl(self) -> None:
        """PostgreSQL: takes the DDL lock before the transaction's first CREATE, DROP or
        ALTER: processes creating the same tables at once otherwise race on the catalogue
        ("duplicate key value violates unique constraint pg_type_typname_nsp_index")."""
        if not self._ddl_locked:
            self._ddl_locked = True
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DDL_LOCK})

    def ensure_durable(self) -> None:
        """The durable tables (access trail, projection positions) at the newest migration
        (projections/migrate.py), once per database."""
        if self._durable is not None:
            self._durable(self)

    def create(self, *tables: sa.Table, indexes: bool = True) -> None:
        """``CREATE TABLE IF NOT EXISTS`` for each table, and ``CREATE INDEX IF NOT EXISTS``
        for the indexes declared with it (only live tables carry them; ``indexes=False``
        for a reader, which must not build an index over a national read model)."""
        for table in tables:
            for statement in _ddl(table, self.dialect, indexes):
                if not self._ddl_locked:
                    self.lock_ddl()
                self.conn.exec_driver_sql(statement)

    def drop(self, *names: str) -> None:
        """``DROP TABLE IF EXISTS`` (names: they may be scratch copies never declared)."""
        for name in names:
            self.execute(f"DROP TABLE IF EXISTS {name}")

    def upsert(
        self,
        table: sa.Table,
        rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        keys: Sequence[str],
        update: Sequence[str] | Mapping[str, Any] | None = None,
    ) -> None:
        """``INSERT ... ON CONFLICT (keys) DO UPDATE`` (``update``: the columns taken from
        the new row, or column → expression) or ``DO NOTHING`` (``update`` None)."""
        if isinstance(rows, Sequence) and not rows:
            return
        if self._sqlite is not None and not isinstance(update, Mapping):
            first = rows if isinstance(rows, Mapping) else rows[0]
            names = None if update is None else tuple(update)
            sql = _sqlite_upsert(table, tuple(first), tuple(keys), names)
            if sql is not None:
                self._on_sqlite(sql, rows)
                return
        self.execute(upsert_statement(self.dialect, table, keys, update), rows)

    def insert_rows(
        self,
        table: sa.Table,
        rows: Sequence[Sequence[Any]],
        tail: str = "",
    ) -> None:
        """Many rows, each in the table's column order, in one executemany (``tail``: an
        ``ON CONFLICT`` clause). On PostgreSQL psycopg pipelines it: unlike ``write_rows``'
        arrays, which psycopg quotes element by element (a regular expression per quote in a
        fact's JSON: a third of a replay's CPU time when facts tables went that way)."""
        if not rows:
            return
        columns = [c.name for c in table.columns]
        head = f"INSERT INTO {table.name} ({', '.join(columns)})"
        if self.dialect != "postgres":
            write_rows(self, head, rows, tail)
            return
        binds = [f"c{i}" for i in range(len(columns))]
        values = ", ".join(f":{b}" for b in binds)
        self.execute(
            f"{head} VALUES ({values}) {tail}", [dict(zip(binds, r, strict=True)) for r in rows]
        )


def upsert_statement(
    dialect: str,
    table: sa.Table,
    keys: Sequence[str],
    update: Sequence[str] | Mapping[str, Any] | None,
) -> Any:
    insert = (postgresql.insert if dialect == "postgres" else sqlite.insert)(table)
    if update is None:
        return insert.on_conflict_do_nothing(index_elements=list(keys))
    if isinstance(update, Mapping):
        values = dict(update)
    else:
        values = {name: insert.excluded[name] for name in update}
    return insert.on_conflict_do_update(index_elements=list(keys), set_=values)


_SQLITE_NAMED = sqlite.dialect(paramstyle="named")


@lru_cache(maxsize=256)
def _sqlite_upsert(
    table: sa.Table, columns: tuple[str, ...], keys: tuple[str, ...], update: tuple[str, ...] | None
) -> str | None:
    """An upsert compiled once for SQLite's fast path (``:column`` binds): building and
    compiling the Core construct again for every call cost more than running it (a live
    runner upserts its store-position mark and epoch per page). None when the statement
    needs values SQLAlchemy computes (a Python-side default): it takes the general path."""
    statement = upsert_statement("sqlite", table, keys, update)
    compiled = statement.compile(dialect=_SQLITE_NAMED, column_keys=list(columns))
    return str(compiled) if set(compiled.params) <= set(columns) else None


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
    On SQLite, the driver's executemany is already cheap (no network, statement cache), so
    the rows go to it as they are, past SQLAlchemy's per-row parameter handling.
    """
    if not rows:
        return
    width = len(rows[0])
    if cur.dialect != "postgres":
        marks = ", ".join(["?"] * width)
        cur.execute_positional(f"{head} VALUES ({marks}) {tail}", rows)
        return
    kinds = list(types) or ["text"] * width
    arrays = ", ".join(f"CAST(:c{i} AS {kind}[])" for i, kind in enumerate(kinds))
    columns = {f"c{i}": list(c) for i, c in enumerate(zip(*rows, strict=True))}
    cur.execute(f"{head} SELECT * FROM unnest({arrays}) {tail}", columns)


def rows_of(cur: Cursor, keys: Iterable[str]) -> list[dict[str, Any]]:
    """The last statement's rows as dicts of ``keys``."""
    names = tuple(keys)
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _is_ddl(statement: Any) -> bool:
    if isinstance(statement, sa.TextClause):
        return statement.text.lstrip()[:6].upper().startswith(_DDL)
    return isinstance(statement, ExecutableDDLElement)


_DIALECTS: dict[str, sa.Dialect] = {
    "postgres": postgresql.psycopg.dialect(),  # type: ignore[no-untyped-call]
    "sqlite": sqlite.pysqlite.dialect(),
}


@lru_cache(maxsize=256)
def _ddl(table: sa.Table, dialect: str, indexes: bool) -> tuple[str, ...]:
    """The table's DDL, compiled once: readers create their tables on every request."""
    d = _DIALECTS[dialect]
    out = [str(CreateTable(table, if_not_exists=True).compile(dialect=d)).strip()]
    for index in sorted(table.indexes, key=lambda i: str(i.name)) if indexes else ():
        if dialect not in index.info.get("dialects", (dialect,)):
            continue
        out.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=d)).strip())
    return tuple(out)
