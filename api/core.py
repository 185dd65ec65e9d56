"""One request core for the write routes, whichever ASGI front serves them.

POST /events, POST /events/batch and POST /routing/decisions are declared as FastAPI routes
of class ``CoreRoute``. Their handling is this module's, not FastAPI's dependency solver: the
caller's token and role, the body's media type and JSON, the body model, the error mapping
(422, the rule's 4xx, 503/500) and the reply. FastAPI's router reaches it through
``CoreRoute.get_route_handler`` (FastAPI's documented extension point); the fast lane
(api/fastlane.py) reaches the same route's ``answer`` without the router. Everything around
it (body limit, query check, identity screening and pseudonyms, HTTP basics, compression,
timing and correlation) is the app's one middleware stack, which both fronts pass through.

Why not FastAPI's own dependencies and body parsing: the lane cannot run them, so a
dependency added to a hot route was silently skipped there, and the two paths answered
differently (a text/plain body, the invalid-JSON message). A ``CoreRoute`` refuses, when it
is declared, any dependency or parameter the core does not supply: the check goes here, once.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any, get_origin, get_type_hints

import orjson
from fastapi import Depends, Request, params
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from api.auth import Unauthenticated, principal_of, role_refusal
from api.errors import ErrorBody, rejected_body, server_error, validation_body
from api.limits import Message, Receive, Scope
from routing.access import Principal, Role
from routing.episodes.service import EventRejected


class Reply(Response):
    """A JSON answer whose body is already bytes, sent as is by either front. Its headers
    come in Starlette's order (the route's own, then length and type), built directly: no
    header mapping to encode on a path that answers thousands of times a second."""

    media_type = "application/json"

    def __init__(
        self, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self.status_code, self.body, self.background = status, body, None
        self.raw_headers = [*(headers or ()), (b"content-length", str(len(body)).encode()),
                            (b"content-type", b"application/json")]  # fmt: skip


def error_reply(status: int, body: ErrorBody) -> Reply:
    return Reply(status, orjson.dumps(body.model_dump(exclude_none=True)))


async def _supplied(request: Request) -> Any:  # pragma: no cover - the core supplies it
    raise TypeError("a CoreRoute parameter is supplied by api/core.py, not by FastAPI")


Caller = Annotated[Principal, Depends(_supplied)]
"""The authenticated caller, admitted by the route's roles (the core checked both)."""
AppState = Annotated[Any, Depends(_supplied)]
"""``app.state``: the writer, the store, the decision cache."""


def serving(*roles: Role) -> type[CoreRoute]:
    """The route class of a router whose routes admit a token holding any of ``roles``:
    ``APIRouter(prefix=..., route_class=serving(Role.front_end))``."""
    return type(f"CoreRoute_{'_'.join(r.value for r in roles)}", (CoreRoute,), {"roles": roles})


class CoreRoute(APIRoute):
    """A route whose endpoint takes one JSON body model, and optionally ``Caller`` and
    ``AppState``, and returns a ``Reply``. An ``async def`` endpoint runs on the event loop;
    a plain ``def`` (a batch: seconds of parsing and one long transaction) runs, body parsing
    included, on a worker thread, as FastAPI runs a sync route."""

    roles: tuple[Role, ...] = ()

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if not self.roles:
            raise TypeError(f"{path}: a CoreRoute admits some role (api.core.serving)")
        self.parse, self.body_name, self.supplied = _signature(path, self.dependant, endpoint)
        self.threaded = not inspect.iscoroutinefunction(endpoint)
        self.batch = path.endswith("/batch")  # a refusal names events[i] (as api/errors.py)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        async def handler(request: Request) -> Response:
            return await self.answer(request.scope, request.receive)

        return handler

    async def answer(self, scope: Scope, receive: Receive) -> Reply:
        """Token, role, body type and JSON, then the endpoint with its body parsed; every
        refusal and failure as the API's JSON error. A body past the size limit is raised
        by the ``BodySizeLimit`` around ``receive`` (its 413), never caught here."""
        state = scope["app"].state
        headers = dict(scope["headers"])
        header = headers.get(b"authorization")
        try:
            caller = await principal_of(state.authenticator, header and header.decode("latin-1"))
        except Unauthenticated as exc:  # HttpBasics adds the WWW-Authenticate challenge
            return error_reply(401, ErrorBody(code="unauthorized", message=str(exc)))
        if (refusal := role_refusal(caller, self.roles)) is not None:
            return error_reply(403, ErrorBody(code="forbidden", message=refusal))
        body = await _body(receive)
        if (bad := body_refusal(headers.get(b"content-type"), body)) is not None:
            return bad
        given = {"caller": caller, "state": state}
        arguments = {name: given[kind] for name, kind in self.supplied.items()}
        try:
            if self.threaded:
                return await asyncio.to_thread(self._call, body, arguments)
            return await self._call(body, arguments)  # type: ignore[no-any-return]
        except ValidationError as exc:
            return error_reply(422, validation_body(exc.errors()))
        except EventRejected as exc:
            return error_reply(exc.status, rejected_body(exc, batch=self.batch))
        except Exception as exc:  # store unavailable: 503 + Retry-After; else 500
            status, error, extra = server_error(exc, self.path)
            retry = [(k.lower().encode(), v.encode()) for k, v in extra.items()]
            return Reply(status, orjson.dumps(error.model_dump(exclude_none=True)), retry)

    def _call(self, body: bytes, arguments: dict[str, Any]) -> Any:
        return self.endpoint(**{self.body_name: self.parse(body)}, **arguments)


def _signature(
    path: str, dependant: Any, endpoint: Callable[..., Any]
) -> tuple[Callable[[bytes], Any], str, dict[str, str]]:
    """The body parser, the body parameter's name, and the supplied parameters (name ->
    ``caller``/``state``). Anything else FastAPI would have run is refused here."""
    kinds = {Caller: "caller", AppState: "state"}
    hints = get_type_hints(endpoint, include_extras=True)
    supplied = {}
    for name, hint in hints.items():
        if hint in kinds:
            supplied[name] = kinds[hint]
    others = [d.call for d in dependant.dependencies if d.call is not _supplied]
    params = [*dependant.path_params, *dependant.query_params, *dependant.header_params,
              *dependant.cookie_params]  # fmt: skip
    if others or params or len(dependant.body_params) != 1:
        raise TypeError(
            f"{path}: a CoreRoute takes one body and Caller/AppState; the core would not run "
            f"{[getattr(c, '__name__', c) for c in others] + [p.name for p in params]}: "
            "put the check in api/core.py"
        )
    name = dependant.body_params[0].name
    return TypeAdapter(_without_body(hints[name])).validate_json, name, supplied


def _without_body(hint: Any) -> Any:
    """The body's type as the model declares it: FastAPI's ``Body(...)`` (examples, for the
    document) left out, a discriminator or other pydantic metadata kept."""
    if get_origin(hint) is not Annotated:
        return hint
    kept = [m for m in hint.__metadata__ if not isinstance(m, params.Body)]
    return Annotated[(hint.__origin__, *kept)] if kept else hint.__origin__


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":  # client went away
            return b""
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


_JSON_TYPE = re.compile(rb"^application/([a-z0-9.+-]+\+)?json\s*(;.*)?$", re.IGNORECASE)


def body_refusal(content_type: bytes | None, body: bytes) -> Reply | None:
    """A body not declared as JSON (415), not JSON (422), or not a JSON object (422), before
    any model sees it: one message for each, whatever the model."""
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


def core_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, CoreRoute]]:
    """Every ``CoreRoute`` with its full path, through included routers at any depth."""
    for route in routes:
        if isinstance(route, CoreRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # FastAPI's included router
            yield from core_routes(
                route.original_router.routes, prefix + route.include_context.prefix
            )
