"""The console's session: a signed cookie holding the principal's claims and a CSRF token.

Signed (itsdangerous, HMAC-SHA256) and time-limited, never encrypted: it holds nothing secret
(subject, roles, region). The key is derived from the pseudonym key every deployment already
has (routing.keys: real in production, generated in development), so the console needs no
key of its own; ``ROUTING_CONSOLE_SESSION_KEY`` overrides it. The cookie is HttpOnly,
SameSite=Lax, and Secure whenever the request came over https.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from routing.access import Principal
from routing.access.principal import InvalidClaims, principal_from_claims
from routing.config import Environment, Settings

COOKIE = "routing_console"
PRELOGIN = "routing_console_login"  # CSRF token of the login form, before any session
MAX_AGE = 8 * 3600  # a working day


def _key(settings: Settings, override: str | None) -> bytes:
    if override:
        return override.encode()
    assert settings.pseudonym_key is not None  # resolve_keys guarantees one
    seed = settings.pseudonym_key.get_secret_value().encode()
    return hmac.new(seed, b"routing console session", hashlib.sha256).digest()


class Sessions:
    def __init__(self, settings: Settings, override: str | None = None) -> None:
        self.serializer = URLSafeTimedSerializer(_key(settings, override), salt="console")
        self.allow_wildcards = settings.env is not Environment.production

    def read(self, request: Request, name: str = COOKIE) -> dict[str, Any] | None:
        raw = request.cookies.get(name)
        if not raw:
            return None
        try:
            data: dict[str, Any] = self.serializer.loads(raw, max_age=MAX_AGE)
        except BadSignature:  # also SignatureExpired
            return None
        return data

    def principal(self, request: Request) -> Principal | None:
        data = self.read(request)
        if data is None:
            return None
        try:
            return principal_from_claims(data["claims"], allow_wildcards=self.allow_wildcards)
        except (InvalidClaims, KeyError, TypeError):
            return None

    def start(self, request: Request, response: Response, claims: dict[str, Any]) -> None:
        """Issues a fresh session (and CSRF token) for verified ``claims``."""
        data = {"claims": claims, "csrf": secrets.token_urlsafe(24)}
        self._set(request, response, COOKIE, data)
        response.delete_cookie(PRELOGIN, path="/console")

    def prelogin(self, request: Request, response: Response, extra: dict[str, Any]) -> str:
        """A short-lived signed cookie for the login step (CSRF token, OIDC state/verifier)."""
        data = {"csrf": secrets.token_urlsafe(24), **extra}
        self._set(request, response, PRELOGIN, data, max_age=900)
        return str(data["csrf"])

    def end(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/console")

    def _set(
        self, request: Request, response: Response, name: str, data: dict[str, Any],
        max_age: int = MAX_AGE,
    ) -> None:  # fmt: skip
        response.set_cookie(
            name, self.serializer.dumps(data), max_age=max_age, path="/console",
            httponly=True, samesite="lax", secure=request.url.scheme == "https",
        )  # fmt: skip


def csrf_ok(expected: Any, given: str | None) -> bool:
    return isinstance(expected, str) and bool(given) and hmac.compare_digest(expected, given or "")
