"""Reading an episode: its current state and its full history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.auth import Caller, forbidden, require
from api.deps import Episodes
from api.errors import ErrorBody
from api.routes.positions import STORE, caught_up
from routing.access import Principal, Role
from routing.access.principal import ANY
from routing.episodes.journey import EpisodeState

router = APIRouter(
    prefix="/episodes",
    tags=["episodes"],
    dependencies=[
        Depends(require(Role.auditor, Role.front_end, trail="audit")),
        Depends(caught_up(STORE)),
    ],
)


def _check_front_end(caller: Principal, state: EpisodeState) -> None:
    """A front-end reads only episodes in which it holds a contact; auditors read all."""
    if caller.has(Role.auditor):
        return
    for c in state.contacts.values():
        if caller.provider_id in (ANY, c.provider_id) and caller.care_region in (
            ANY,
            c.care_region,
        ):
            return
    raise forbidden(f"episode {state.episode_id} holds no contact of this front-end")


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
def get_episode(episode_id: UUID, episodes: Episodes, caller: Caller) -> EpisodeOut:
    state, version = episodes.episode(episode_id)
    _check_front_end(caller, state)
    return EpisodeOut(episode_id=episode_id, version=version, state=state)


@router.get("/{episode_id}/history", response_model=HistoryOut, responses=NOT_FOUND)
def get_history(episode_id: UUID, episodes: Episodes, caller: Caller) -> HistoryOut:
    """Every fact in recording order, with `occurred_at` (valid time) and `recorded_at`
    (when the system learnt it); `late` marks facts documented after later ones."""
    if not caller.has(Role.auditor):
        _check_front_end(caller, episodes.episode(episode_id)[0])
    entries = episodes.history(episode_id)
    return HistoryOut(
        episode_id=episode_id,
        events=[HistoryEntryOut(**vars(e)) for e in entries],
    )
