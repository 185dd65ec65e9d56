"""Reading an episode: its current state and its full history."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.auth import Caller, forbidden, require
from api.deps import Episodes
from api.errors import ErrorBody
from api.routes.positions import STORE, caught_up
from routing.access import Principal, Role, ownership
from routing.episodes.journey import EpisodeState
from routing.episodes.service import HistoryEntry

router = APIRouter(
    prefix="/episodes",
    tags=["episodes"],
    dependencies=[
        Depends(require(Role.auditor, Role.front_end, trail="audit")),
        Depends(caught_up(STORE)),
    ],
)


def _check_front_end(caller: Principal, state: EpisodeState) -> None:
    """A front-end reads only episodes it is a party to (C10, routing.access.ownership);
    auditors read all."""
    if caller.has(Role.auditor) or ownership.is_party(caller, state):
        return
    raise forbidden(f"episode {state.episode_id} holds no fact of this front-end")


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}


class EpisodeOut(BaseModel):
    episode_id: UUID
    version: int
    state: EpisodeState


class HistoryEntryOut(HistoryEntry):
    # The service's record under the OpenAPI schema's name (no docstring: it would become
    # the schema's description).
    pass


class HistoryOut(BaseModel):
    episode_id: UUID
    events: list[HistoryEntryOut]


@router.get("/{episode_id}", response_model=EpisodeOut, responses=NOT_FOUND)
def get_episode(episode_id: UUID, episodes: Episodes, caller: Caller) -> EpisodeOut:
    state, version = episodes.episode(episode_id)
    _check_front_end(caller, state)
    if not caller.has(Role.auditor):
        state = ownership.visible_state(caller, state)
    return EpisodeOut(episode_id=episode_id, version=version, state=state)


@router.get("/{episode_id}/history", response_model=HistoryOut, responses=NOT_FOUND)
def get_history(episode_id: UUID, episodes: Episodes, caller: Caller) -> HistoryOut:
    """Every fact in recording order, with `occurred_at` (valid time) and `recorded_at`
    (when the system learnt it); `late` marks facts documented after later ones. A front-end
    gets the facts it owns: its contacts', the episode's own if it holds the episode, and
    the referrals handed to its region (docs/access.md)."""
    entries = episodes.history(episode_id)
    if not caller.has(Role.auditor):  # a front-end: the facts it owns (C10)
        state = episodes.episode(episode_id)[0]
        _check_front_end(caller, state)
        entries = [e for e in entries if ownership.sees_fact(caller, state, e.type, e.data)]
    return HistoryOut(
        episode_id=episode_id,
        events=[HistoryEntryOut(**dict(e)) for e in entries],
    )
