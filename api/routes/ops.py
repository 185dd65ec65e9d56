"""Operator endpoints: liveness, readiness and Prometheus metrics.

Kept apart from the business routes so that authentication added to those never applies
here: probes and scrapers carry no credentials (restrict them at the network instead).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import read_models_of
from projections import PROJECTIONS, base
from routing.config import Settings
from routing.operations.health import BrokerProbe, Readiness, store_seen

router = APIRouter(tags=["operations"])


@router.get("/live")
async def live() -> dict[str, str]:
    """200 while the process answers: a failing liveness probe means restart it."""
    return {"status": "alive"}


@router.get("/ready", responses={503: {"description": "Not ready; the failing checks named."}})
async def ready(request: Request) -> JSONResponse:
    """200 when the store and broker answer and the projections are within the configured
    lag; 503 naming what is not, so the load balancer stops sending traffic here."""
    report = await readiness(request).report()
    return JSONResponse(report.as_json(), status_code=200 if report.ok else 503)


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus text format: this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def readiness(request: Request) -> Readiness:
    state = request.app.state
    checker: Readiness | None = getattr(state, "readiness", None)
    if checker is None:
        settings: Settings = state.settings
        bootstrap = settings.kafka_bootstrap_servers
        checker = state.readiness = Readiness(
            ping_store=state.episodes.ping,
            broker=BrokerProbe(bootstrap) if bootstrap else None,
            topic=settings.events_topic,
            timeout=settings.ready_timeout_seconds,
            positions=lambda: _positions(state),
            projections=list(PROJECTIONS),
            max_lag=settings.ready_max_projection_lag,
            seen=store_seen(state.episodes, settings.events_topic, settings.inbound_topic),
            epochs=lambda: _epochs(state),
        )
    return checker


def _positions(state: Any) -> dict[str, dict[int, int]]:
    settings: Settings = state.settings
    with read_models_of(state).transaction() as cur:
        return base.all_positions(cur, settings.events_topic)


def _epochs(state: Any) -> dict[str, int]:
    """The relay epoch each live read model was built from."""
    with read_models_of(state).transaction() as cur:
        base.create_position_tables(cur)
        cur.execute("SELECT projection, epoch FROM projection_epochs")
        return {str(p): int(e) for p, e in cur.fetchall()}
