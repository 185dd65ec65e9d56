"""The fast lane: the core's routes (api/core.py) reached without FastAPI's router.

Why: FastAPI's router, its exception middleware and its per-request wrappers cost more than
recording an event or deciding a route (benchmarks/README.md: ~70 µs a request for a constant
endpoint). The lane sits innermost in the app's middleware stack, where FastAPI's router
would be: body limit, query check, identity screening, HTTP basics, compression, timing and
correlation are the same layers on both fronts, and the route's answer is the same
``CoreRoute.answer``. ``ROUTING_FAST_LANE=false`` leaves every request to the router;
tests/integration/test_fast_lane.py holds both fronts to byte-identical answers.

Measured gain (issue 19: the lane stays only while it saves more than about 10 %), server CPU
per request, lane on / off, medians of alternating rounds on SQLite (benchmarks/lane.py,
2026-12-03, after the lane became a dispatcher to the core): POST /routing/decisions 180 / 241
µs (25 %), POST /events 286 / 339 µs (16 %); a batch of 100 facts the same either way.
"""

from __future__ import annotations

from typing import Any

from api.core import CoreRoute, core_routes
from api.limits import ASGIApp, Receive, Scope, Send


class FastLane:
    """Pure ASGI: a POST to a ``CoreRoute``'s exact path is answered by the route itself;
    anything else (another method, a trailing slash, every other route) goes on to FastAPI."""

    def __init__(self, app: ASGIApp, api: Any) -> None:
        self.app, self.api = app, api
        self._routes: dict[tuple[str, str], CoreRoute] | None = None

    def route(self, scope: Scope) -> CoreRoute | None:
        if self._routes is None:  # the routes are all declared by the first request
            self._routes = {
                (method, path): route
                for path, route in core_routes(self.api.routes)
                for method in route.methods or ()
            }
        return self._routes.get((scope["method"], scope["path"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.route(scope) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = route  # ``route.path`` labels the request metrics, as FastAPI's does
        reply = await route.answer(scope, receive)
        await reply(scope, receive, send)
