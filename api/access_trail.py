"""The access trail: every read of finance or audit data is itself recorded (who, what, when).

Kept in the read-model database, in a table no projection owns (rebuilds never touch it).
Auditors read it through ``GET /access-trail``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from projections.db import Cursor, ReadModelDB
from routing.access import Principal

TABLE = "access_trail"


def create_table(cur: Cursor, dialect: str) -> None:
    key = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (id {key}, at TEXT NOT NULL, subject TEXT NOT NULL,"
        " roles TEXT NOT NULL, region TEXT, kind TEXT NOT NULL, method TEXT NOT NULL,"
        " path TEXT NOT NULL, query TEXT NOT NULL)"
    )


def _db(request: Request) -> ReadModelDB:
    from api.routes.summaries import read_models  # the routes import the auth that uses this

    db = read_models(request)
    if not getattr(request.app.state, "access_trail_ready", False):
        with db.transaction() as cur:
            create_table(cur, db.dialect)
        request.app.state.access_trail_ready = True
    return db


def record(request: Request, principal: Principal, kind: str) -> None:
    row = (
        datetime.now(UTC).isoformat(),
        principal.subject,
        " ".join(sorted(principal.roles)),
        principal.region,
        kind,
        request.method,
        request.url.path,
        request.url.query,
    )
    with _db(request).transaction() as cur:
        cur.execute(
            f"INSERT INTO {TABLE} (at, subject, roles, region, kind, method, path, query)"  # noqa: S608
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            row,
        )


def entries(
    request: Request,
    subject: str | None,
    kind: str | None,
    since: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    where, params = [], []
    for column, value in (("subject", subject), ("kind", kind)):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if since is not None:
        where.append("at >= %s")
        params.append(since)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    with _db(request).transaction() as cur:
        cur.execute(
            f"SELECT id, at, subject, roles, region, kind, method, path, query FROM {TABLE}"  # noqa: S608
            f"{clause} ORDER BY id DESC LIMIT %s OFFSET %s",
            (*params, limit, offset),
        )
        rows = cur.fetchall()
    names = ("id", "at", "subject", "roles", "region", "kind", "method", "path", "query")
    return [dict(zip(names, row, strict=True)) for row in rows]
