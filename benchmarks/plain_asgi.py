"""A reference for the decision benchmark: a constant answered by plain ASGI, no framework.

The gap between this and bare_app.py is FastAPI's own cost per request, which is what the
fast lane (api/fastlane.py) saves on the hot routes.
"""

from __future__ import annotations

from typing import Any

BODY = b'{"ok":true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"11")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
