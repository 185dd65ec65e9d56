"""The access trail, for auditors: who read which finance or audit data, and when."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api import access_trail
from api.auth import require
from api.params import MAX_OFFSET, Instant
from routing.access import Role
from routing.identity.screen import TEXT_PATTERN

router = APIRouter(
    prefix="/access-trail",
    tags=["audit"],
    dependencies=[Depends(require(Role.auditor, trail="audit"))],
)


class AccessEntry(BaseModel):
    id: int
    at: str
    subject: str
    roles: str
    region: str | None
    kind: str
    method: str
    path: str
    query: str
    status: int | None = Field(
        description="How the read was answered (403 refused, 422 invalid...); none for "
        "entries written before statuses were kept."
    )


@router.get("", response_model=list[AccessEntry], summary="Reads of finance and audit data")
def read_trail(
    request: Request,
    subject: Annotated[str | None, Query(max_length=256, pattern=TEXT_PATTERN)] = None,
    kind: Annotated[access_trail.Kind | None, Query(description="What was read.")] = None,
    since: Annotated[
        Instant | None, Query(description="Entries at or after this instant (with offset).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[AccessEntry]:
    """Newest first. Reading the trail is itself recorded (kind ``audit``)."""
    after = None if since is None else since.astimezone(UTC).isoformat()
    rows = access_trail.entries(request, subject, kind, after, limit, offset)
    return [AccessEntry(**r) for r in rows]
