"""Builds the FastAPI application around one CareEpisodes service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.limits import BodySizeLimit
from api.routes import (
    audit,
    care_guarantee,
    decisions,
    episodes,
    events,
    finance,
    meta,
    necessity,
    summaries,
)
from api.writer import GroupCommitWriter
from projections.db import ReadModelDB, open_read_models
from routing.config import Settings
from routing.episodes.service import CareEpisodes
from routing.reference import load_reference_data
from routing.store import open_episodes

DESCRIPTION = """
Records the facts of care episodes (contacts, triage, need-and-suitability assessments,
distance-contact offers and answers, referrals) as events, and serves what they add up to.

* Every event carries a client-chosen `event_id`: retries are idempotent, a changed body
  under a used id is a **409**.
* Validation errors are **422** and name the field (`field`, e.g. `events[3].occurred_at`).
* A sequence that cannot happen (completing a contact never started...) is a **409** whose
  `code` names the rule.
"""


def create_app(
    settings: Settings | None = None,
    service: CareEpisodes | None = None,
    read_models: ReadModelDB | None = None,
) -> FastAPI:
    settings = settings or Settings()
    load_reference_data()  # a bad reference file stops start-up, naming file, entry and field
    owned = service is None
    owned_read_models = read_models is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.writer.close()
        if owned:
            app.state.episodes.close()
        if owned_read_models and app.state.read_models is not None:
            app.state.read_models.close()

    app = FastAPI(
        title="routing",
        version="0.1.0",
        summary="Digital-first contact routing and inter-regional liability for Swedish care.",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.episodes = service or open_episodes(settings)
    app.state.writer = GroupCommitWriter(app.state.episodes)
    app.state.read_models = read_models
    app.state.open_read_models = lambda: open_read_models(settings)
    errors.install(app)
    app.include_router(events.router)
    app.include_router(episodes.router)
    app.include_router(decisions.router)
    app.include_router(summaries.router)
    app.include_router(finance.router)
    app.include_router(necessity.router)
    app.include_router(care_guarantee.router)
    app.include_router(meta.router)
    app.include_router(audit.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
