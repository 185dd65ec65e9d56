"""Posting facts: one event, or a batch in one transaction."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Request, status
from pydantic import BaseModel, Field

from api import examples
from api.auth import Caller, require
from api.deps import Episodes
from api.errors import ERROR_RESPONSES, rejected_body
from api.fastlane import Reply, error_reply
from api.writer import GroupCommitWriter
from routing.access import Principal, Role
from routing.episodes.events import EVENT_ADAPTER, AnyEpisodeEvent, EpisodeEvent, event_examples
from routing.episodes.service import EventRejected, Recorded
from routing.operations.metrics import count_accepted

ROLES = (Role.front_end,)
router = APIRouter(prefix="/events", tags=["events"], dependencies=[Depends(require(*ROLES))])
PATH = "/events"
BATCH_PATH = "/events/batch"
_REPLAYED = [(b"idempotent-replayed", b"true")]

MAX_BATCH = 1000


class RecordedOut(BaseModel):
    event_id: UUID
    episode_id: UUID
    episode_version: int = Field(description="Position of the fact in its episode (1 = first).")
    recorded_at: datetime
    position: int = Field(
        description="Store position of the write: pass it as `min_position` to a read to see it."
    )


class BatchItemOut(RecordedOut):
    replayed: bool = Field(description="True if this event id had already been recorded.")


class BatchIn(BaseModel):
    events: Annotated[list[AnyEpisodeEvent], Field(min_length=1, max_length=MAX_BATCH)]


class BatchOut(BaseModel):
    results: list[BatchItemOut]
    position: int = Field(description="Store position of the whole batch (`min_position`).")


def _out(r: Recorded) -> RecordedOut:
    return RecordedOut(
        event_id=r.event_id,
        episode_id=r.episode_id,
        episode_version=r.episode_version,
        recorded_at=r.recorded_at,
        position=r.position,
    )


async def record(state: Any, event: EpisodeEvent, caller: Principal) -> Reply:
    """Records one event through the group-commit writer; 201 with where it was stored.
    The caller's bindings are checked inside the store transaction (EventForbidden)."""
    writer: GroupCommitWriter = state.writer
    recorded = await writer.record(event, caller)
    body = RecordedOut.__pydantic_serializer__.to_json(_out(recorded))
    return Reply(201, body, _REPLAYED if recorded.replayed else [])


async def record_body(state: Any, body: bytes, caller: Principal) -> Reply:
    """The fast lane's entry (api/fastlane.py): the body parsed by pydantic in one pass."""
    return await record(state, EVENT_ADAPTER.validate_json(body), caller)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordedOut,
    responses=ERROR_RESPONSES,
    summary="Record one fact of a care episode",
)
async def post_event(
    request: Request,
    caller: Caller,
    event: Annotated[
        AnyEpisodeEvent,
        Body(openapi_examples={k: {"value": v} for k, v in event_examples().items()}),
    ],
) -> Any:
    """Records one event. Retrying with the same `event_id` and body returns the original
    result (with header `Idempotent-Replayed: true`); the same `event_id` with another body
    is a 409."""
    return (await record(request.app.state, event, caller)).response()


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchOut,
    responses=ERROR_RESPONSES,
    summary="Record up to 1000 facts in one transaction",
)
def post_batch(
    episodes: Episodes,
    batch: Annotated[BatchIn, Body(openapi_examples=examples.batch())],
    caller: Caller,
) -> BatchOut:
    """All events are stored, or none: the first refused event is named by its index."""
    results = episodes.record_batch(batch.events, principals=[caller] * len(batch.events))
    _count(batch.events, results)
    return _batch_out(results)


def _count(events: list[AnyEpisodeEvent], results: list[Recorded]) -> None:
    new = (e.type for e, r in zip(events, results, strict=True) if not r.replayed)
    count_accepted("http_batch", new)


def _batch_out(results: list[Recorded]) -> BatchOut:
    return BatchOut(
        results=[
            BatchItemOut(
                event_id=r.event_id,
                episode_id=r.episode_id,
                episode_version=r.episode_version,
                recorded_at=r.recorded_at,
                replayed=r.replayed,
                position=r.position,
            )
            for r in results
        ],
        position=max((r.position for r in results), default=0),
    )


async def record_batch_body(state: Any, body: bytes, caller: Principal) -> Reply:
    """The fast lane's entry for batches: parsing 1000 events and one transaction are
    seconds of work, so both run on a worker thread, as FastAPI runs a sync route
    (``to_thread`` carries the request's context: the pseudonymiser, the correlation id)."""
    return await asyncio.to_thread(_record_batch, state, body, caller)


def _record_batch(state: Any, body: bytes, caller: Principal) -> Reply:
    batch = BatchIn.model_validate_json(body)
    try:
        results = state.episodes.record_batch(batch.events, principals=[caller] * len(batch.events))
    except EventRejected as exc:
        return error_reply(exc.status, rejected_body(exc, batch=True))
    _count(batch.events, results)
    return Reply(201, BatchOut.__pydantic_serializer__.to_json(_batch_out(results)))
