"""HTTP basics every client and proxy expects (issue 16, item 12), in one pure ASGI layer:

* ``HEAD`` on every ``GET`` route: answered as the GET, headers only (RFC 9110 §9.3.2);
* ``Cache-Control: no-store`` on finance, audit and patient data, so no proxy or browser
  cache keeps a copy (RFC 9111 §5.2.2.5).

Compression of large answers is Starlette's ``GZipMiddleware`` (api/app.py).
"""

from __future__ import annotations

from api.limits import ASGIApp, Message, Receive, Scope, Send

SENSITIVE = ("/finance", "/access-trail", "/audit", "/episodes", "/necessity",
             "/care-guarantee", "/projections", "/admin", "/routing")  # fmt: skip
_NO_STORE = (b"cache-control", b"no-store")


class HttpBasics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        no_store = scope["path"].startswith(SENSITIVE)
        if head:
            scope = {**scope, "method": "GET"}

        async def send_basics(message: Message) -> None:
            if message["type"] == "http.response.start" and no_store:
                message["headers"] = [*message.get("headers", ()), _NO_STORE]
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_basics)
