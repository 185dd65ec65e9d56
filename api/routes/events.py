"""Posting facts: one event, or a batch in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, Field

from api import examples
from api.core import AppState, Caller, Reply, serving
from api.errors import ERROR_RESPONSES
from api.writer import GroupCommitWriter
from routing.access import Principal, Role
from routing.episodes.events import AnyEpisodeEvent, EpisodeEvent, event_examples
from routing.episodes.service import Recorded
from routing.operations.metrics import count_accepted

ROLES = (Role.front_end,)
router = APIRouter(prefix="/events", tags=["events"], route_class=serving(*ROLES))
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


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordedOut,
    responses=ERROR_RESPONSES,
    summary="Record one fact of a care episode",
)
async def post_event(
    state: AppState,
    caller: Caller,
    event: Annotated[
        AnyEpisodeEvent,
        Body(openapi_examples={k: {"value": v} for k, v in event_examples().items()}),
    ],
) -> Reply:
    """Records one event. Retrying with the same `event_id` and body returns the original
    result (with header `Idempotent-Replayed: true`); the same `event_id` with another body
    is a 409."""
    return await record(state, event, caller)


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchOut,
    responses=ERROR_RESPONSES,
    summary="Record up to 1000 facts in one transaction",
)
def post_batch(
    state: AppState,
    batch: Annotated[BatchIn, Body(openapi_examples=examples.batch())],
    caller: Caller,
) -> Reply:
    """All events are stored, or none: the first refused event is named by its index."""
    results = state.episodes.record_batch(batch.events, principals=[caller] * len(batch.events))
    _count(batch.events, results)
    return Reply(201, BatchOut.__pydantic_serializer__.to_json(_batch_out(results)))


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
