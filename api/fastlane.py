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
does not turn into a 4xx is answered as FastAPI's handlers would (api/errors.py): a store
that is unavailable 503 with Retry-After, anything else 500, both in the JSON error shape.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.responses import Response

from api.auth import (
    UNAUTHORIZED_HEADERS,
    Authenticator,
    Unauthenticated,
    principal_of,
    role_refusal,
)
from api.contract import unknown_query, unknown_query_body
from api.errors import ErrorBody, rejected_body, server_error, validation_body
from api.limits import too_large_body
from routing.access import Principal, Role
from routing.episodes.service import EventRejected
from routing.identity import Pseudonymiser, pseudonymising

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def response(self) -> Response:
        """The same reply for a FastAPI route to return."""
        headers = {k.decode(): v.decode() for k, v in self.headers}
        return Response(self.body, self.status, headers, media_type="application/json")


Handler = Callable[[Any, bytes, Principal], Awaitable[Reply]]
"""(the app's state, the request body, the authenticated caller) -> the reply; may raise
ValidationError or EventRejected, which become the API's usual 422 and 4xx bodies."""


@dataclass(frozen=True)
class HotRoute:
    path: str
    """The route's template, as FastAPI's ``APIRoute.path`` (request metrics label by it)."""
    handler: Handler
    roles: tuple[Role, ...]
    """The roles its FastAPI route's ``require`` admits: the same rule on both paths."""


_JSON = (b"content-type", b"application/json")
_CHALLENGE = [(b"www-authenticate", UNAUTHORIZED_HEADERS["WWW-Authenticate"].encode())]


class FastLane:
    """The hot routes, served by ``RoutingAPI.__call__`` before FastAPI sees the request:
    the same checks in the same order as there (body limit, token, role, body, bindings in
    the store transaction), with patient identities pseudonymised while the body is parsed."""

    def __init__(
        self,
        routes: Mapping[tuple[str, str], HotRoute],
        max_bytes: int,
        authenticator: Authenticator,
        pseudonymiser: Pseudonymiser,
    ) -> None:
        self.routes, self.max_bytes = routes, max_bytes
        self.authenticator, self.pseudonymiser = authenticator, pseudonymiser

    def route(self, scope: Scope) -> HotRoute | None:
        if scope["type"] != "http":
            return None
        return self.routes.get((scope["method"], scope["path"]))

    async def serve(
        self, route: HotRoute, state: Any, scope: Scope, receive: Receive, send: Send
    ) -> None:
        try:
            reply = await self._reply(route, state, scope, receive)
        except Exception as exc:  # store unavailable: 503 + Retry-After; else 500, as JSON
            reply = server_error_reply(exc, route.path)
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

    async def checked(
        self, route: HotRoute, scope: Scope, receive: Receive
    ) -> tuple[Reply, None] | tuple[None, tuple[bytes, Principal]]:
        """Every check before the handler, in the lane's order (query, declared size, token,
        role, body size, body shape): the refusal, or the body and the caller. FastAPI's
        path runs the same checks first (``JsonBodies``), so both answer alike."""
        if scope.get("query_string"):  # these routes declare no query parameters
            name = unknown_query(scope["query_string"], frozenset())
            if name:
                return Reply(422, orjson.dumps(unknown_query_body(name[0]))), None
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return self._too_large(), None
        header = headers.get(b"authorization")
        try:
            caller = await principal_of(self.authenticator, header and header.decode("latin-1"))
        except Unauthenticated as exc:
            return _unauthorized(str(exc)), None
        if (refusal := role_refusal(caller, route.roles)) is not None:
            return error_reply(403, ErrorBody(code="forbidden", message=refusal)), None
        body = await self._body(receive)
        if body is None:
            return self._too_large(), None
        if (bad_body := body_refusal(headers.get(b"content-type"), body)) is not None:
            return bad_body, None
        return None, (body, caller)

    async def _reply(self, route: HotRoute, state: Any, scope: Scope, receive: Receive) -> Reply:
        refusal, accepted = await self.checked(route, scope, receive)
        if refusal is not None:
            return refusal
        assert accepted is not None
        body, caller = accepted
        try:
            with pseudonymising(self.pseudonymiser):
                return await route.handler(state, body, caller)
        except ValidationError as exc:
            return error_reply(422, validation_body(exc.errors()))
        except EventRejected as exc:
            return error_reply(exc.status, rejected_body(exc, batch=False))

    def _too_large(self) -> Reply:
        return Reply(413, too_large_body(self.max_bytes))

    async def _body(self, receive: Receive) -> bytes | None:
        """The whole body, or None past the limit (counted: chunked uploads declare none)."""
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


_JSON_TYPE = re.compile(rb"^application/([a-z0-9.+-]+\+)?json\s*(;.*)?$", re.IGNORECASE)


def body_refusal(content_type: bytes | None, body: bytes) -> Reply | None:
    """What both paths answer to a body that is not a JSON object, before any model sees it
    (the fast lane parses with ``validate_json``, FastAPI with ``json.loads`` and
    ``validate_python``: left to them, the same body got two different messages)."""
    if content_type is None or not _JSON_TYPE.match(content_type):
        shown = content_type.decode("latin-1") if content_type else "none"
        message = f"Content-Type must be application/json (was {shown})"
        return error_reply(415, ErrorBody(code="unsupported_media_type", message=message))
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _body_error(f"Invalid JSON: {exc}", "json_invalid")
    if not isinstance(parsed, dict):
        return _body_error("Input should be a JSON object", "dict_type")
    return None


def _body_error(message: str, kind: str) -> Reply:
    error = {"loc": ("body",), "msg": message, "type": kind}
    return error_reply(422, validation_body([error]))


class JsonBodies:
    """The lane's checks on FastAPI's path for the lane's routes (``ROUTING_FAST_LANE=false``):
    ``FastLane.checked`` answers the refusals, as the lane would; what passes goes on to
    FastAPI with the same bytes. Without it FastAPI parsed the body before checking the token
    (a 422 where the lane said 401) and read a text/plain body as no JSON at all."""

    def __init__(
        self, app: Callable[[Scope, Receive, Send], Awaitable[None]], lane: FastLane
    ) -> None:
        self.app, self.lane = app, lane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.lane.route(scope)
        if route is None:
            await self.app(scope, receive, send)
            return
        refusal, accepted = await self.lane.checked(route, scope, receive)
        if refusal is not None:
            await refusal.response()(scope, receive, send)
            return
        assert accepted is not None
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": accepted[0], "more_body": False}

        await self.app(scope, replay, send)


def error_reply(status: int, body: ErrorBody) -> Reply:
    return Reply(status, orjson.dumps(body.model_dump(exclude_none=True)))


def server_error_reply(exc: BaseException, where: str) -> Reply:
    """What FastAPI's handlers answer for the same exception (api/errors.py)."""
    status, body, headers = server_error(exc, where)
    return Reply(
        status,
        orjson.dumps(body.model_dump(exclude_none=True)),
        [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    )


def _unauthorized(message: str) -> Reply:
    return Reply(
        401,
        orjson.dumps(ErrorBody(code="unauthorized", message=message).model_dump(exclude_none=True)),
        _CHALLENGE,
    )
