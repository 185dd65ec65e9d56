"""Builds the FastAPI application around one CareEpisodes service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.middleware.gzip import GZipMiddleware

from api import console, docs, errors
from api.auth import Authenticator
from api.contract import KnownQuery, openapi_of
from api.edge import Pseudonymise
from api.fastlane import FastLane
from api.http_basics import HttpBasics
from api.limits import BodySizeLimit
from api.observe import Observe
from api.routes import (
    access_trail,
    admin,
    audit,
    decisions,
    episodes,
    events,
    guarantee,
    indicators,
    liability,
    meta,
    necessity,
    ops,
    positions,
    reference,
    summaries,
)
from api.writer import GroupCommitWriter
from projections.db import ReadModelDB, open_read_models
from routing.config import Settings
from routing.decisions.cache import DecisionCache
from routing.episodes.service import CareEpisodes
from routing.identity import Pseudonymiser
from routing.keys import resolve_keys
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


GZIP_MIN_BYTES = 4096
"""Answers from this size on are compressed for clients that accept gzip (/metrics: 600 KB)."""


NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's native OpenTelemetry, off: no provider is configured here (metrics are Prometheus,
api/observe.py), and asking whether one is reads the environment three times a request
(in-process, POST /routing/decisions: about 100 µs of CPU a request with it, on either front)."""


ROUTES = (
    events, episodes, decisions, summaries, liability, necessity, guarantee, indicators, meta,
    access_trail, admin, ops, audit, reference,
)  # fmt: skip
"""The route modules, in the order their routes are declared (and listed in the docs)."""


class RoutingAPI(FastAPI):
    """FastAPI, with the OpenAPI document completed as the server behaves (api/contract.py)."""

    def openapi(self) -> dict[str, Any]:
        return openapi_of(self)


def create_app(
    settings: Settings | None = None,
    service: CareEpisodes | None = None,
    read_models: ReadModelDB | None = None,
) -> RoutingAPI:
    settings = resolve_keys(settings or Settings())  # production: real keys or no start
    load_reference_data()  # a bad reference file stops start-up, naming file, entry and field
    owned = service is None
    owned_read_models = read_models is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.writer.closed:  # served again after a shutdown (test clients do)
            app.state.writer = GroupCommitWriter(app.state.episodes)
        yield
        if getattr(app.state, "readiness", None) is not None and app.state.readiness.broker:
            await app.state.readiness.broker.close()
        app.state.writer.close()
        if owned:
            app.state.episodes.close()
        if owned_read_models and app.state.read_models is not None:
            app.state.read_models.close()

    app = RoutingAPI(
        title="routing",
        version="0.1.0",
        summary="Digital-first contact routing and inter-regional liability for Swedish care.",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # api/docs.py: the same page, its assets served from the package
        redoc_url=None,
        telemetry=NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.episodes = service or open_episodes(settings)
    app.state.writer = GroupCommitWriter(app.state.episodes)
    app.state.read_models = read_models
    app.state.open_read_models = lambda: open_read_models(settings)
    app.state.authenticator = Authenticator(settings)
    app.state.policy = settings.rulebook_policy()
    app.state.decision_cache = DecisionCache(settings.decision_cache_size)
    errors.install(app)
    docs.install(app)
    for module in ROUTES:
        app.include_router(module.router)
    positions.install(app)  # GET /projections/positions; 409 not_yet_projected
    console.install(app, settings)  # the web console: /console (api/console/)
    _add_middleware(app, settings)
    return app


def _add_middleware(app: RoutingAPI, settings: Settings) -> None:
    """The layers around the routes, innermost first (each ``add_middleware`` wraps the
    stack so far)."""
    assert settings.pseudonym_key is not None
    pseudonymiser = Pseudonymiser(settings.pseudonym_key.get_secret_value().encode())
    if settings.fast_lane:  # innermost: the core's routes without FastAPI's router
        app.add_middleware(FastLane, api=app)
    app.add_middleware(Pseudonymise, pseudonymiser=pseudonymiser)
    app.add_middleware(KnownQuery, api=app)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    app.add_middleware(HttpBasics)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Observe)  # outermost: times and correlates every response, 413s too
