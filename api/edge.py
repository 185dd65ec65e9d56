"""The HTTP edge of patient identity (C8): while a request is parsed, a raw personnummer or
samordningsnummer in a ``patient`` field is validated and replaced by its keyed pseudonym;
a query or path parameter holding one (or NUL, or a non-ASCII digit) is a 422 before any
route runs (api/params.py).

A plain ASGI middleware: it only sets a context variable around the request, so it costs
nothing per byte and sees no body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.params import refuse, refused_parameter
from routing.identity import Pseudonymiser, pseudonymising


class Pseudonymise:
    def __init__(self, app: ASGIApp, pseudonymiser: Pseudonymiser) -> None:
        self.app, self.pseudonymiser = app, pseudonymiser

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (refused := refused_parameter(scope)) is not None:
            await refuse(*refused, send)
            return
        with pseudonymising(self.pseudonymiser):
            await self.app(scope, receive, send)
