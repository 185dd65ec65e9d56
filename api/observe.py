"""Request latency by route and the correlation id of each request, in one pure ASGI layer.

Pure ASGI (not Starlette's BaseHTTPMiddleware, which runs the app in a separate task and
costs throughput): it reads the caller's ``X-Request-ID`` or ``traceparent`` or makes an id,
sets it for the request's context (logs and the stored facts pick it up), returns it as
``X-Request-ID``, and times the request under its route template (``/episodes/{episode_id}``,
so the label set stays bounded).
"""

from __future__ import annotations

import time
from typing import Any

from api.limits import ASGIApp, Message, Receive, Scope, Send
from routing.operations import correlation
from routing.operations.metrics import REQUEST_LATENCY

_HEADER = correlation.HEADER.encode()
UNMATCHED = "<unmatched>"


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        cid = correlation.from_headers(scope.get("headers") or ()) or correlation.new_id()
        token = correlation.set_current(correlation.Correlation(cid))
        status = 500
        header = (_HEADER, cid.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation.reset(token)
            route = scope.get("route")
            path = getattr(route, "path", None) or UNMATCHED
            key = (scope["method"], path, status)
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = REQUEST_LATENCY.labels(*key)
            child.observe(time.perf_counter() - start)
