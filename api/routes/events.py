"""Posting facts: one event, or a batch in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Request, Response, status
from pydantic import BaseModel, Field

from api.deps import Episodes
from api.errors import ERROR_RESPONSES
from api.writer import GroupCommitWriter
from routing.episodes.events import AnyEpisodeEvent, event_examples
from routing.episodes.service import Recorded
from routing.operations.metrics import count_accepted

router = APIRouter(prefix="/events", tags=["events"])

MAX_BATCH = 1000


class RecordedOut(BaseModel):
    event_id: UUID
    episode_id: UUID
    episode_version: int = Field(description="Position of the fact in its episode (1 = first).")
    recorded_at: datetime


class BatchItemOut(RecordedOut):
    replayed: bool = Field(description="True if this event id had already been recorded.")


class BatchIn(BaseModel):
    events: Annotated[list[AnyEpisodeEvent], Field(min_length=1, max_length=MAX_BATCH)]


class BatchOut(BaseModel):
    results: list[BatchItemOut]


def _out(r: Recorded) -> RecordedOut:
    return RecordedOut(
        event_id=r.event_id,
        episode_id=r.episode_id,
        episode_version=r.episode_version,
        recorded_at=r.recorded_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordedOut,
    responses=ERROR_RESPONSES,
    summary="Record one fact of a care episode",
)
async def post_event(
    request: Request,
    response: Response,
    event: Annotated[
        AnyEpisodeEvent,
        Body(openapi_examples={k: {"value": v} for k, v in event_examples().items()}),
    ],
) -> RecordedOut:
    """Records one event. Retrying with the same `event_id` and body returns the original
    result (with header `Idempotent-Replayed: true`); the same `event_id` with another body
    is a 409."""
    writer: GroupCommitWriter = request.app.state.writer
    recorded = await writer.record(event)
    if recorded.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _out(recorded)


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchOut,
    responses=ERROR_RESPONSES,
    summary="Record up to 1000 facts in one transaction",
)
def post_batch(episodes: Episodes, batch: BatchIn) -> BatchOut:
    """All events are stored, or none: the first refused event is named by its index."""
    results = episodes.record_batch(batch.events)
    count_accepted(
        "http_batch", (e.type for e, r in zip(batch.events, results, strict=True) if not r.replayed)
    )
    return BatchOut(
        results=[BatchItemOut(**_out(r).model_dump(), replayed=r.replayed) for r in results]
    )
