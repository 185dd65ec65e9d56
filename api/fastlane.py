"""The hot write paths, answered as plain ASGI ahead of FastAPI's router.

Why: on this machine FastAPI's routing, dependency solving and middleware layers cost about
105 µs per request (a constant endpoint: 7,000 req/s through FastAPI, 26,000 as plain ASGI,
benchmarks/README.md), which is more than recording an event or deciding a route. The calls
front-ends make on every contact (POST /events, POST /events/batch, POST /routing/decisions)
are answered here, by the same core functions as their FastAPI routes, with the same error
shape; the FastAPI routes stay declared, so the OpenAPI contract and /docs are unchanged, and
tests/integration/test_fast_lane.py holds both paths to the same answers.

Everything else, and every request when ``ROUTING_FAST_LANE=false``, goes to FastAPI. The
lane sits in front of all of FastAPI's middleware (``RoutingAPI.__call__``): an exception it
does not turn into a 4xx reaches uvicorn, which logs it and answers 500, as FastAPI would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from api.errors import ErrorBody, rejected_body, validation_body
from routing.episodes.service import EventRejected

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


Handler = Callable[[Any, bytes], Awaitable[Reply]]
"""(the app's state, the request body) -> the reply; may raise ValidationError or
EventRejected, which become the API's usual 422 and 409 bodies."""

_JSON = (b"content-type", b"application/json")


class FastLane:
    """The hot routes, served by ``RoutingAPI.__call__`` before FastAPI sees the request."""

    def __init__(self, routes: Mapping[tuple[str, str], Handler], max_bytes: int) -> None:
        self.routes, self.max_bytes = routes, max_bytes

    def handler(self, scope: Scope) -> Handler | None:
        if scope["type"] != "http":
            return None
        return self.routes.get((scope["method"], scope["path"]))

    async def serve(
        self, handler: Handler, state: Any, scope: Scope, receive: Receive, send: Send
    ) -> None:
        body = await self._body(scope, receive)
        if body is None:
            reply = error_reply(413, ErrorBody(
                code="body_too_large",
                message=f"request body exceeds {self.max_bytes} bytes; split the batch",
            ))  # fmt: skip
        else:
            try:
                reply = await handler(state, body)
            except ValidationError as exc:
                reply = error_reply(422, validation_body(exc.errors()))
            except EventRejected as exc:
                reply = error_reply(exc.status, rejected_body(exc, batch=False))
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [
                    _JSON,
                    (b"content-length", str(len(reply.body)).encode()),
                    *reply.headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None past the limit (declared or counted: chunked uploads)."""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def error_reply(status: int, body: ErrorBody) -> Reply:
    return Reply(status, orjson.dumps(body.model_dump(exclude_none=True)))
