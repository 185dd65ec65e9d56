"""Test keys and tokens. The keys below are test fixtures, never used outside the tests.

Every test app is built from settings carrying ``TEST_KEYS``; clients authenticate with a
token signed by the test secret (by default one holding every role, bound to everything,
which only a development-mode app accepts).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from routing.access import ANY, Role

TEST_SECRET = "test-fixture-hs256-secret-0123456789abcdef0123456789"
TEST_PSEUDONYM_KEY = "test-fixture-pseudonym-key-0123456789abcdef"
TEST_KEYS: dict[str, Any] = {
    "auth_dev_secret": TEST_SECRET,
    "pseudonym_key": TEST_PSEUDONYM_KEY,
}
ALL_ROLES = tuple(Role)


def token(
    roles: tuple[Role, ...] | list[Role] = ALL_ROLES,
    *,
    secret: str = TEST_SECRET,
    issuer: str = "routing-dev",
    audience: str = "routing",
    lifetime: int = 3600,
    **claims: Any,
) -> str:
    now = int(time.time())
    body = {
        "sub": claims.pop("sub", f"test-{uuid.uuid4().hex[:6]}"),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "roles": [r.value for r in roles],
        **claims,
    }
    return jwt.encode(body, secret, algorithm="HS256")


def bearer(roles: tuple[Role, ...] | list[Role] = ALL_ROLES, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(roles, **claims)}"}


def all_roles() -> dict[str, str]:
    """Headers of a token holding every role, bound to every provider and region."""
    return bearer(ALL_ROLES, provider_id=ANY, care_region=ANY, region=ANY, sub="test-all")
