"""/live, /ready and /metrics for the processes that serve no API (relay, ingest,
projections, rebuild), on ``ROUTING_METRICS_PORT``, in the same event loop as their work: a
blocked loop fails the liveness probe, which is the point."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from routing.operations.health import Readiness


def ops_app(readiness: Readiness) -> Starlette:
    async def live(_: Request) -> JSONResponse:
        return JSONResponse({"status": "alive"})

    async def ready(_: Request) -> JSONResponse:
        report = await readiness.report()
        return JSONResponse(report.as_json(), status_code=200 if report.ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        if readiness.broker is not None:
            await readiness.broker.close()

    return Starlette(
        routes=[Route("/live", live), Route("/ready", ready), Route("/metrics", metrics)],
        lifespan=lifespan,
    )
