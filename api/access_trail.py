"""The access trail: every read of finance or audit data is itself recorded (who, what, when,
and how it was answered: ``status``, so a refused or invalid read is told from a served one).

Kept in the read-model database, in a table no projection owns (rebuilds never touch it).
Auditors read it through ``GET /access-trail``. The path and query are stored with every
identity number masked: the edge refuses a parameter holding one (api/params.py), and the
trail would be the one place such a number is kept if that ever let one through.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from api.deps import read_models
from projections.cursor import Cursor
from projections.db import ReadModelDB
from projections.tables import access_trail
from routing.access import Principal
from routing.episodes.service import EpisodeNotFound, EventRejected
from routing.identity import redact_identity_numbers

TABLE = "access_trail"
COLUMNS = ("id", "at", "subject", "roles", "region", "kind", "method", "path", "query", "status")


class Kind(StrEnum):
    """What was read: the ``trail=`` of the route's ``require``."""

    finance = "finance"
    audit = "audit"


def outcome(exc: BaseException) -> int:
    """The status a request that raised ``exc`` is answered with (api/errors.py)."""
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, RequestValidationError | ValidationError):
        return 422
    if isinstance(exc, EpisodeNotFound):
        return 404
    if isinstance(exc, EventRejected):
        return exc.status
    return 500


def create_table(cur: Cursor) -> None:
    """The trail is durable (no rebuild writes it again): migrated (projections/migrate.py),
    not created; a trail written before statuses were kept gets its column on adoption."""
    cur.ensure_durable()


def _db(request: Request) -> ReadModelDB:
    db = read_models(request)
    if not getattr(request.app.state, "access_trail_ready", False):
        with db.transaction() as cur:
            create_table(cur)
        request.app.state.access_trail_ready = True
    return db


def record(request: Request, principal: Principal, kind: str, status: int) -> None:
    row = (
        datetime.now(UTC).isoformat(),
        principal.subject,
        " ".join(sorted(principal.roles)),
        principal.region,
        kind,
        request.method,
        redact_identity_numbers(request.url.path),
        redact_identity_numbers(request.url.query),
        status,
    )
    with _db(request).transaction() as cur:
        cur.execute(sa.insert(access_trail).values(dict(zip(COLUMNS[1:], row, strict=True))))


def entries(
    request: Request,
    subject: str | None,
    kind: str | None,
    since: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    t = access_trail
    query = sa.select(*(t.c[c] for c in COLUMNS))
    for column, value in (("subject", subject), ("kind", kind)):
        if value is not None:
            query = query.where(t.c[column] == value)
    if since is not None:
        query = query.where(t.c.at >= since)
    with _db(request).transaction() as cur:
        cur.execute(query.order_by(t.c.id.desc()).limit(limit).offset(offset))
        rows = cur.fetchall()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]
