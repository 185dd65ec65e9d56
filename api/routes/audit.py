"""For auditors: an episode as it was known or as it was at a time, what was learnt late, the
event log's hash chain, and policy simulation. Reads the event store only; never writes, and
never touches the live read models.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api import examples
from api.auth import require
from api.deps import AppSettings, Episodes, read_models_of
from api.errors import ErrorBody
from api.params import Instant
from api.routes.positions import tracker
from projections import whatif
from routing.access import Role
from routing.audit import service as audit
from routing.audit.models import (
    EpisodeViewOut,
    LearntOut,
    SimulationIn,
    SimulationOut,
    learnt_out,
    simulation_out,
    view_out,
)
from routing.persistence.chained import check_chain

router = APIRouter(
    prefix="/audit",
    tags=["audit"],
    dependencies=[Depends(require(Role.auditor, trail="audit"))],
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}
Moment = Annotated[Instant, Query(description="ISO 8601 with a time zone.")]


@router.get("/episodes/{episode_id}/known", response_model=EpisodeViewOut, responses=NOT_FOUND)
def known_at(
    episode_id: UUID, at: Moment, episodes: Episodes, settings: AppSettings
) -> EpisodeViewOut:
    """The episode as the store knew it at `at` (facts recorded at or before it), and the
    liability decisions those facts gave."""
    policy = settings.rulebook_policy()
    return view_out(episode_id, audit.episode_known_at(episodes, episode_id, at, policy))


@router.get("/episodes/{episode_id}/occurred", response_model=EpisodeViewOut, responses=NOT_FOUND)
def occurred_by(
    episode_id: UUID, at: Moment, episodes: Episodes, settings: AppSettings
) -> EpisodeViewOut:
    """The episode as it was in reality at `at` (facts that occurred at or before it), as we
    know them now."""
    policy = settings.rulebook_policy()
    return view_out(episode_id, audit.episode_occurred_by(episodes, episode_id, at, policy))


@router.get("/episodes/{episode_id}/learnt", response_model=LearntOut, responses=NOT_FOUND)
def learnt(episode_id: UUID, since: Moment, until: Moment, episodes: Episodes) -> LearntOut:
    """Facts recorded after `since` up to `until`; `late` marks those that had already
    occurred by `since`. The interval is (since, until]: with `until` at or before `since` it
    is empty and so is the answer (200, no facts), not an error: any two instants are a
    question this route can answer."""
    return learnt_out(
        episode_id, audit.episode_learnt(episodes, episode_id, since, until), since, until
    )


ANCHOR_PATTERN = r"^[1-9][0-9]{0,17}:[0-9a-f]{64}$"
"""A head: position (1 to 18 digits: the store's positions are 64-bit) and digest."""


def _anchor(text: str) -> tuple[int, str]:
    """``POSITION:DIGEST`` (already matched by the pattern) as ``check_chain`` takes it."""
    position, digest = text.split(":")
    return int(position), digest


class ChainOut(BaseModel):
    intact: bool
    rows: int
    links: int
    head_position: int | None
    head_digest: str | None
    findings: list[dict[str, Any]]


@router.get("/chain", response_model=ChainOut)
async def chain(
    episodes: Episodes,
    anchor: Annotated[
        str | None,
        Query(
            pattern=ANCHOR_PATTERN,
            description="A head noted earlier, `POSITION:DIGEST` as `routing verify --chain` "
            "prints it and `--anchor` takes it (position 1 to 18 digits, digest 64 lowercase hex).",
            examples=["42:" + "0" * 64],
        ),
    ] = None,
) -> ChainOut:
    """Recomputes the event log's hash chain and reports edited, inserted or deleted rows;
    with an anchor (a head noted earlier, kept outside the database) also truncation. Reads
    the whole log: minutes on a large store. The anchor is one parameter so that its two
    parts cannot be given apart (the schema's pattern states the whole rule)."""
    head = _anchor(anchor) if anchor else None
    report = await run_in_threadpool(lambda: check_chain(episodes.recorder, anchor=head))
    return ChainOut(
        intact=report.intact, rows=report.checked, links=report.links,
        head_position=report.head.position if report.head else None,
        head_digest=report.head.digest if report.head else None,
        findings=[vars(f) for f in report.findings or []],
    )  # fmt: skip


@router.post("/simulations", response_model=SimulationOut)
async def simulate(
    body: Annotated[SimulationIn, Body(openapi_examples=examples.SIMULATION)],
    request: Request,
    episodes: Episodes,
    settings: AppSettings,
    limit: Annotated[int, Query(ge=0, le=10_000, description="Changed contacts listed.")] = 100,
) -> SimulationOut:
    """Recomputes liability for the chosen home regions and contact dates under another
    rulebook policy, with the live projection's rule functions, from the event store: per
    home region what it paid versus what it would have paid, and the contacts that change.
    From the liability read model's decision inputs when it has caught up with the store,
    else from the log (``path`` and ``path_reason`` say which, and why)."""
    baseline = settings.rulebook_policy()
    state = request.app.state
    answer = await run_in_threadpool(
        lambda: whatif.simulate(
            episodes, read_models_of(state), tracker(state),
            (baseline, body.alternative(baseline)), body.scope(),
        )
    )  # fmt: skip
    return simulation_out(answer.simulation, limit, answer.path, answer.reason)
