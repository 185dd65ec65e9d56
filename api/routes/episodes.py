"""Reading an episode: its current state and its full history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import Episodes
from api.errors import ErrorBody
from routing.episodes.journey import EpisodeState

router = APIRouter(prefix="/episodes", tags=["episodes"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}


class EpisodeOut(BaseModel):
    episode_id: UUID
    version: int
    state: EpisodeState


class HistoryEntryOut(BaseModel):
    version: int
    type: str
    event_id: UUID
    occurred_at: datetime
    recorded_at: datetime
    source: str
    late: bool
    data: dict[str, Any]


class HistoryOut(BaseModel):
    episode_id: UUID
    events: list[HistoryEntryOut]


@router.get("/{episode_id}", response_model=EpisodeOut, responses=NOT_FOUND)
def get_episode(episode_id: UUID, episodes: Episodes) -> EpisodeOut:
    state, version = episodes.episode(episode_id)
    return EpisodeOut(episode_id=episode_id, version=version, state=state)


@router.get("/{episode_id}/history", response_model=HistoryOut, responses=NOT_FOUND)
def get_history(episode_id: UUID, episodes: Episodes) -> HistoryOut:
    """Every fact in recording order, with `occurred_at` (valid time) and `recorded_at`
    (when the system learnt it); `late` marks facts documented after later ones."""
    entries = episodes.history(episode_id)
    return HistoryOut(
        episode_id=episode_id,
        events=[HistoryEntryOut(**vars(e)) for e in entries],
    )
