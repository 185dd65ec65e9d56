"""Read-your-writes: each projection's store position, and ``min_position`` on reads.

A write answers with ``position`` (projections/positions.py says what it means). A read that
passes ``?min_position=P`` is answered once its read model has applied every fact up to P,
after waiting at most ``ROUTING_READ_WAIT_SECONDS``; then ``409 not_yet_projected`` with the
read model's current ``position`` (retry after ``Retry-After`` seconds). Without the
parameter a read answers at once from whatever the read model holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import read_models_of
from projections import PROJECTIONS
from projections.positions import ProjectionPositions
from routing.config import Settings

STORE = "store"
POLL_SECONDS = 0.05

router = APIRouter(prefix="/projections", tags=["read-your-writes"])


class PositionsOut(BaseModel):
    store: int = Field(description="Position of the store's newest record.")
    projections: dict[str, int] = Field(
        description="Per read model: every fact up to this store position is applied."
    )


class NotYetProjected(Exception):  # noqa: N818 - an outcome the client handles
    def __init__(self, projection: str, wanted: int, position: int) -> None:
        super().__init__(projection)
        self.projection, self.wanted, self.position = projection, wanted, position


def tracker(state: Any) -> ProjectionPositions:
    """The app's position tracker, made on first use (the read models open lazily)."""
    found: ProjectionPositions | None = getattr(state, "positions", None)
    if found is None:
        settings: Settings = state.settings
        interesting = {n: build(settings).interesting for n, build in PROJECTIONS.items()}
        found = state.positions = ProjectionPositions(
            state.episodes,
            read_models_of(state),
            interesting,
            topic=settings.events_topic,
            partitions=settings.events_partitions,
        )
    return found


@router.get("/positions", response_model=PositionsOut)
async def positions(request: Request) -> PositionsOut:
    """Each read model's store position, and the store's: no token needed (no data)."""
    found = tracker(request.app.state)
    store = await asyncio.to_thread(found.store_position)
    caught = await asyncio.to_thread(found.positions)
    return PositionsOut(store=store, projections=caught)


MAX_POSITION = 999_999_999
"""The largest ``min_position`` a read takes: nine digits. Every query value is screened for
identity numbers at the edge (api/params.py), and an integer of ten or twelve digits can read
as a personnummer (``1212121212`` has a valid date and check digit), so the screen refused
some integers the schema admitted. Bounded below ten digits, no admitted value can be one.
It bounds nothing real: a billion facts is some 2,700 years at a million facts a day."""
MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_POSITION,
        description="Answer only once the read model has applied every fact up to this store "
        "position (the `position` a write answered with); waits up to ROUTING_READ_WAIT_SECONDS, "
        "then 409 `not_yet_projected` with the current `position`. At most nine digits (a "
        "longer integer could read as a personnummer, which no parameter may hold).",
    ),
]


def caught_up(projection: str) -> Callable[..., Awaitable[None]]:
    """A dependency for reads of ``projection`` (or ``"store"``) taking ``min_position``."""

    async def wait(request: Request, min_position: MinPosition = None) -> None:
        if min_position is None:
            return
        state = request.app.state
        found = tracker(state)
        check = found.store_position if projection == STORE else (
            lambda: found.position(projection, min_position)
        )  # fmt: skip
        deadline = time.monotonic() + state.settings.read_wait_seconds
        while True:
            position = await asyncio.to_thread(check)
            if position >= min_position:
                return
            if time.monotonic() >= deadline:
                raise NotYetProjected(projection, min_position, position)
            await asyncio.sleep(POLL_SECONDS)

    return wait


def _not_yet(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotYetProjected)
    body = {
        "code": "not_yet_projected",
        "message": f"{exc.projection} has applied the store up to position {exc.position}, "
        f"not yet {exc.wanted}: retry",
        "field": "min_position",
        "projection": exc.projection,
        "position": exc.position,
        "min_position": exc.wanted,
    }
    return JSONResponse(body, status_code=409, headers={"Retry-After": "1"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(NotYetProjected, _not_yet)
    app.include_router(router)
