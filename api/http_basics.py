"""HTTP basics every client and proxy expects (issue 16, item 12), in one pure ASGI layer:

* ``HEAD`` on every ``GET`` route: answered as the GET, headers only (RFC 9110 §9.3.2);
* ``Cache-Control: no-store`` on finance, audit and patient data, so no proxy or browser
  cache keeps a copy (RFC 9111 §5.2.2.5);
* the 401 challenge of RFC 6750 §3.1: ``Bearer realm="routing"`` when no bearer token came,
  with ``error="invalid_token"`` when one came and was refused (bad, expired, unknown key),
  so a client knows to get a new token rather than to add one. Set here, on the way out,
  for every 401 of both paths (api/auth.py and the fast lane say only *why* in the body).

Compression of large answers is Starlette's ``GZipMiddleware`` (api/app.py).
"""

from __future__ import annotations

from api.limits import ASGIApp, Message, Receive, Scope, Send

SENSITIVE = ("/finance", "/access-trail", "/audit", "/episodes", "/necessity",
             "/care-guarantee", "/projections", "/admin", "/routing")  # fmt: skip
_NO_STORE = (b"cache-control", b"no-store")
_CHALLENGE = b"www-authenticate"
NO_TOKEN = b'Bearer realm="routing"'
BAD_TOKEN = b'Bearer realm="routing", error="invalid_token"'


def _challenge(scope: Scope) -> bytes:
    header = dict(scope.get("headers") or ()).get(b"authorization", b"")
    scheme, _, token = header.partition(b" ")
    return BAD_TOKEN if scheme.lower() == b"bearer" and token.strip() else NO_TOKEN


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
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if message["status"] == 401:
                    headers = [h for h in headers if h[0].lower() != _CHALLENGE]
                    headers.append((_CHALLENGE, _challenge(scope)))
                if no_store:
                    headers.append(_NO_STORE)
                message["headers"] = headers
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_basics)
