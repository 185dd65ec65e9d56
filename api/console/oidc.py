"""Production login: OpenID Connect authorization code flow with PKCE (S256), by Authlib.

Configured from the environment (all ``ROUTING_OIDC_*``); without an issuer, the console
offers only the development login (and only in development). The identity provider's ID
token carries the same claims as an API token (``roles``, ``region``...: see
routing.access.principal), so the console's principal is the API's.

The state, nonce and PKCE verifier travel in a short-lived signed cookie (api/console/
session.py) rather than Starlette's SessionMiddleware, so the console adds no middleware to
the API's hot paths.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.starlette_client import (  # type: ignore[import-untyped]
    OAuth,
    StarletteOAuth2App,
)
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", env_file=".env", extra="ignore")

    oidc_issuer: str | None = None
    """e.g. https://idp.region.se/realms/finance; its /.well-known/openid-configuration is read."""
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scope: str = "openid profile"
    oidc_authorize_url: str | None = None
    """Only for providers without discovery (then also oidc_token_url and oidc_jwks_url)."""
    oidc_token_url: str | None = None
    oidc_jwks_url: str | None = None
    console_session_key: SecretStr | None = None


def oidc_client(settings: ConsoleSettings) -> StarletteOAuth2App | None:
    """The Authlib client of the configured identity provider; None when none is set."""
    if not settings.oidc_issuer or not settings.oidc_client_id:
        return None
    kwargs: dict[str, Any] = {
        "client_id": settings.oidc_client_id,
        "client_secret": (
            settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
        ),
        "client_kwargs": {"scope": settings.oidc_scope, "code_challenge_method": "S256"},
    }
    if settings.oidc_authorize_url:
        kwargs |= {
            "authorize_url": settings.oidc_authorize_url,
            "access_token_url": settings.oidc_token_url,
            "jwks_uri": settings.oidc_jwks_url,
            "issuer": settings.oidc_issuer,
        }
    else:
        issuer = settings.oidc_issuer.rstrip("/")
        kwargs["server_metadata_url"] = f"{issuer}/.well-known/openid-configuration"
    oauth = OAuth()
    client: StarletteOAuth2App = oauth.register("idp", **kwargs)
    return client


async def authorization(client: StarletteOAuth2App, redirect_uri: str) -> dict[str, Any]:
    """Where to send the browser, and what to keep until it comes back: ``url``, ``state``,
    ``nonce`` and the PKCE ``code_verifier`` (its S256 challenge is in the url)."""
    found: dict[str, Any] = await client.create_authorization_url(redirect_uri)
    return found


async def claims_of(
    client: StarletteOAuth2App, redirect_uri: str, code: str, kept: dict[str, Any]
) -> dict[str, Any]:
    """Exchanges the code (with the PKCE verifier) and verifies the ID token (signature,
    issuer, audience, expiry, nonce); returns its claims."""
    token = await client.fetch_access_token(
        redirect_uri=redirect_uri, code=code, code_verifier=kept.get("code_verifier")
    )
    claims = await client.parse_id_token(token, nonce=kept.get("nonce"))
    return dict(claims)
