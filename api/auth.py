"""Bearer-token authentication and role checks for every route.

Tokens are OAuth2 access tokens (JWT) verified against the configured issuer and audience:
RS256/ES256 with keys from a JWKS URL or file, or (development only) an HS256 shared secret.
A verified token is cached until its ``exp`` (bounded, first in first out), so a client
repeating its token costs one dict lookup, not a signature check, on the hot write and
decision paths.

One line protects a router: ``APIRouter(dependencies=[Depends(require(Role.auditor))])``;
``trail=...`` also records the read in the access trail (who, what, when). The routes of
finance data (guarantee, necessity, liability, indicators) share one binding, ``Reader``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from api import access_trail
from routing.access import Principal, Role, may_read_region, readable_regions
from routing.access.principal import InvalidClaims, principal_from_claims
from routing.config import Environment, Settings

ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
_FAMILY = {"RSA": ("RS256", "RS384", "RS512", "PS256")}
"""Algorithms a key of a type may verify. An EC key verifies exactly the algorithm of its
curve (P-256: ES256, P-384: ES384), which pyjwt derives from the JWK."""
LEEWAY_SECONDS = 30
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="routing"'}


class Unauthenticated(Exception):  # noqa: N818
    pass


class Authenticator:
    """Verifies bearer tokens; remembers the verified ones until they expire."""

    def __init__(self, settings: Settings) -> None:
        self.issuer, self.audience = settings.auth_issuer, settings.auth_audience
        self.allow_wildcards = settings.env is not Environment.production
        self.cache_size = settings.token_cache_size
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._jwks_client: jwt.PyJWKClient | None = None
        self._jwks: jwt.PyJWKSet | None = None
        self._secret: str | None = None
        if settings.auth_jwks_url:
            self._jwks_client = jwt.PyJWKClient(settings.auth_jwks_url, lifespan=300)
        elif settings.auth_jwks_file is not None:
            self._jwks = jwt.PyJWKSet.from_json(settings.auth_jwks_file.read_text())
        elif settings.auth_dev_secret is not None and self.allow_wildcards:
            self._secret = settings.auth_dev_secret.get_secret_value()
        else:
            raise ValueError("no token verification key: set ROUTING_AUTH_JWKS_URL or _FILE")

    def cached(self, token: str) -> Principal | None:
        hit = self._cache.get(token)
        if hit is not None and hit[1] > time.time():
            return hit[0]
        return None

    def verify(self, token: str) -> Principal:
        """Checks signature, issuer, audience and expiry; raises Unauthenticated."""
        try:
            key, algorithms = self._key(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
            principal = principal_from_claims(claims, allow_wildcards=self.allow_wildcards)
        except (jwt.PyJWTError, InvalidClaims, KeyError, TypeError, ValueError) as exc:
            # TypeError/ValueError: a key the cryptography backend cannot use for the header's
            # algorithm; every token problem is the client's, so a 401, never a 500

            raise Unauthenticated(_reason(exc)) from None
        if self.cache_size:
            while len(self._cache) >= self.cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[token] = (principal, float(claims["exp"]))
        return principal

    def _key(self, token: str) -> tuple[Any, list[str]]:
        """The key to check ``token`` with, and the algorithms that key may verify: the
        header's ``alg`` must be one of them, so a token claiming ES256 is never checked with
        an RSA key (which the cryptography backend refuses with a TypeError)."""
        if self._secret is not None:
            return self._secret, ["HS256"]
        header = jwt.get_unverified_header(token)
        if self._jwks_client is not None:
            return _usable(self._jwks_client.get_signing_key_from_jwt(token), header)
        assert self._jwks is not None
        kid, alg = header.get("kid"), header.get("alg")
        keys = [
            k for k in self._jwks.keys if (kid is None or k.key_id == kid) and alg in _algorithms(k)
        ]
        if not keys:
            raise jwt.InvalidKeyError(f"no key {kid!r} for algorithm {alg!r} in the JWKS file")
        return _usable(keys[0], header)


def _algorithms(key: jwt.PyJWK) -> tuple[str, ...]:
    family = _FAMILY.get(str(key.key_type), (key.algorithm_name,))
    if "alg" in key._jwk_data:  # the JWK names its one algorithm
        family = (key.algorithm_name,)
    return tuple(a for a in family if a in ASYMMETRIC)


def _usable(key: jwt.PyJWK, header: dict[str, Any]) -> tuple[Any, list[str]]:
    algorithms = list(_algorithms(key))
    if header.get("alg") not in algorithms:
        raise jwt.InvalidAlgorithmError("the token's algorithm does not fit its key")
    return key.key, algorithms


def _reason(exc: Exception) -> str:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token expired"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "token not issued for this audience"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "token from an unknown issuer"
    if isinstance(exc, InvalidClaims):
        return f"token claims refused: {exc}"
    return "token invalid"


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers=UNAUTHORIZED_HEADERS)


async def principal_of(authenticator: Authenticator, header: str | None) -> Principal:
    """The principal of an ``Authorization`` header's bearer token (cached after its first
    check); raises Unauthenticated saying what is wrong. Shared by ``require`` and the
    request core of the write routes (api/core.py)."""
    if not header:
        raise Unauthenticated("a bearer token is required (header Authorization: Bearer ...)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    principal = authenticator.cached(token)
    if principal is None:  # a JWKS URL may be fetched: off the event loop
        principal = await run_in_threadpool(authenticator.verify, token)
    return principal


def role_refusal(principal: Principal, roles: tuple[Role, ...]) -> str | None:
    """Why ``principal`` may not use a route admitting ``roles``; None if it may."""
    if principal.has(*roles):
        return None
    return f"this route needs one of the roles: {', '.join(r.value for r in roles)}"


async def authenticate(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    try:
        return await principal_of(authenticator, request.headers.get("authorization"))
    except Unauthenticated as exc:
        raise _unauthorized(str(exc)) from None


def require(
    *roles: Role, trail: str | None = None
) -> Callable[[Request], AsyncIterator[Principal]]:
    """A dependency admitting a token holding any of ``roles``; ``trail`` names the kind of
    data read (``finance`` or ``audit``): each such request is recorded in the access trail
    with its outcome (the status it was answered with), refused and invalid ones included."""

    async def dependency(request: Request) -> AsyncIterator[Principal]:
        principal = await authenticate(request)
        if (refusal := role_refusal(principal, roles)) is not None:
            if trail is not None:
                await run_in_threadpool(access_trail.record, request, principal, trail, 403)
            raise HTTPException(403, refusal)
        request.state.principal = principal
        if trail is None:
            yield principal
            return
        status = getattr(request.scope.get("route"), "status_code", None) or 200
        try:
            yield principal
        except BaseException as exc:  # the route's refusal, a 404, an invalid query...
            status = access_trail.outcome(exc)
            raise
        finally:
            await run_in_threadpool(access_trail.record, request, principal, trail, status)

    dependency.__name__ = f"require_{'_or_'.join(r.value for r in roles)}"
    return dependency


async def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal  # set by the router's ``require``
    return principal


Caller = Annotated[Principal, Depends(_principal)]


def forbidden(message: str) -> HTTPException:
    return HTTPException(403, message)


def check_region(principal: Principal, *regions: str | None) -> None:
    """403 unless the caller may read data concerning one of ``regions`` (auditors: all)."""
    if not may_read_region(principal, *regions):
        shown = " or ".join(r for r in regions if r) or "these regions"
        raise forbidden(f"region {principal.region} may not read data of {shown}")


def forced_region(principal: Principal, requested: str | None, what: str) -> str | None:
    """For a listing with an optional region filter: region finance gets its own region
    (another one is a 403); auditors get what they asked for."""
    own = readable_regions(principal)
    if own is None:
        return requested
    if requested is not None and requested != own:
        raise forbidden(f"region {own} may not read {what} of region {requested}")
    return own


@dataclass(frozen=True)
class RegionReader:
    """A reader of finance data (region finance or an auditor), bound to the regions it may
    read: the one binding of the guarantee, necessity, liability and indicators routes. The
    checks are methods, not a dependency of their own, because a route may check only after
    its parameters are valid (422 first) or only on the row it found (a 404 first)."""

    principal: Principal

    @property
    def own_region(self) -> str | None:
        """The one region region finance reads; None for a reader of every region."""
        return readable_regions(self.principal)

    def check(self, *regions: str | None) -> None:
        """403 unless the reader may read data concerning one of ``regions``."""
        check_region(self.principal, *regions)

    def forced(self, requested: str | None, what: str) -> str | None:
        """A listing's optional region filter: region finance gets its own region (another
        one is a 403), a reader of every region what it asked for."""
        return forced_region(self.principal, requested, what)


_finance_reader = require(Role.finance, Role.auditor, trail="finance")


async def _reader(principal: Annotated[Principal, Depends(_finance_reader)]) -> RegionReader:
    return RegionReader(principal)


Reader = Annotated[RegionReader, Depends(_reader)]
"""A route's parameter: the reader, its role checked and its read recorded in the access trail
(FastAPI solves the dependency once a request, so a router may also declare it)."""
READS_FINANCE = Depends(_reader)
"""The router-level form of ``Reader``: every route of the router admits only readers of
finance data, whether or not it names the reader."""
