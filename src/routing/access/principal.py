"""Roles and bindings, from a verified token's claims.

Claims: ``sub``; ``roles`` (a list, or a space-separated string); ``provider_id`` and
``care_region`` bind a front-end; ``region`` binds region finance. ``"*"`` binds to everything
and is accepted in development only (tests and `routing token`); production refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

ANY = "*"


class Role(StrEnum):
    front_end = "front_end"
    """Chat, video and phone front-ends: post facts for their own provider and care region."""
    routing_client = "routing_client"
    """Asks for routing decisions before or during a contact."""
    finance = "finance"
    """Region finance: reads contacts where its region is the home or the care region."""
    auditor = "auditor"
    """Reads everything, including history, replay and the access trail."""
    administrator = "administrator"
    """Changes (reloads and validates) reference data."""


class InvalidClaims(ValueError):  # noqa: N818
    pass


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    provider_id: str | None = None
    care_region: str | None = None
    region: str | None = None

    def has(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)


def _roles(raw: Any) -> frozenset[Role]:
    items = raw.split() if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise InvalidClaims("claim 'roles' must be a list or a space-separated string")
    known = {r.value for r in Role}
    return frozenset(Role(i) for i in items if isinstance(i, str) and i in known)


def principal_from_claims(claims: dict[str, Any], *, allow_wildcards: bool) -> Principal:
    def text(name: str) -> str | None:
        value = claims.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise InvalidClaims(f"claim {name!r} must be a non-empty string")
        if value == ANY and not allow_wildcards:
            raise InvalidClaims(f"claim {name!r}: '*' is accepted in development only")
        return value

    principal = Principal(
        subject=str(claims.get("sub", "")),
        roles=_roles(claims.get("roles", [])),
        provider_id=text("provider_id"),
        care_region=text("care_region"),
        region=text("region"),
    )
    if Role.front_end in principal.roles and (
        principal.provider_id is None or principal.care_region is None
    ):
        raise InvalidClaims("a front_end token must carry provider_id and care_region")
    if Role.finance in principal.roles and principal.region is None:
        raise InvalidClaims("a finance token must carry region")
    return principal
