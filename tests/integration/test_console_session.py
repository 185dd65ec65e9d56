"""The console's login and session, in-process: the cookie's flags, CSRF on every form, the
development login only in development, OIDC redirects carrying PKCE (S256), no open
redirect, and every page view in the access trail."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.console import oidc
from routing.config import Environment, Settings
from tests.auth_support import all_roles


@pytest.fixture
def console(memory_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(memory_settings), follow_redirects=False) as c:
        yield c


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def sign_in(c: TestClient, **fields: str) -> None:
    token = _csrf(c.get("/console/login").text)
    r = c.post("/console/login/dev", data={"csrf": token, **fields})
    assert r.status_code == 303, r.text


def test_session_cookie_is_httponly_samesite_and_secure_over_https(console: TestClient) -> None:
    token = _csrf(console.get("/console/login").text)
    r = console.post("/console/login/dev", data={"csrf": token, "role": "auditor"})
    cookie = r.headers["set-cookie"].lower()
    assert "routing_console=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in the test
    secure = TestClient(console.app, base_url="https://console.test", follow_redirects=False)
    token = _csrf(secure.get("/console/login").text)
    r = secure.post("/console/login/dev", data={"csrf": token, "role": "auditor"})
    assert "; secure" in r.headers["set-cookie"].lower()


def test_forms_without_the_csrf_token_are_refused(console: TestClient) -> None:
    console.get("/console/login")
    assert console.post("/console/login/dev", data={"role": "auditor"}).status_code == 403
    sign_in(console, role="finance", region="14")
    r = console.post("/console/close", data={"care_region": "01", "home_region": "14",
                                              "month": "2025-10"})  # fmt: skip
    assert r.status_code == 403


def test_pages_need_a_session(console: TestClient) -> None:
    r = console.get("/console/liability?month=2025-10")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/login?next=")


def test_a_forged_cookie_is_no_session(console: TestClient) -> None:
    console.cookies.set("routing_console", "eyJjbGFpbXMiOnt9fQ.forged.sig", path="/console")
    assert console.get("/console/liability").status_code == 303


def test_dev_login_is_off_outside_development(console: TestClient) -> None:
    token = _csrf(console.get("/console/login").text)
    state = console.app.state  # type: ignore[attr-defined]
    state.settings = state.settings.model_copy(update={"env": Environment.production})
    assert "login-auditor" not in console.get("/console/login").text
    r = console.post("/console/login/dev", data={"csrf": token, "role": "auditor"})
    assert r.status_code == 404


def test_next_is_never_an_open_redirect(console: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/console//evil.example"):
        token = _csrf(console.get("/console/login").text)
        r = console.post("/console/login/dev",
                         data={"csrf": token, "role": "auditor", "next": target})  # fmt: skip
        assert r.headers["location"] == "/console/"


def test_finance_of_another_region_is_refused_and_views_are_trailed(console: TestClient) -> None:
    sign_in(console, role="finance", region="14")
    assert console.get("/console/liability?region=14&month=2025-10").status_code == 200
    refused = console.get("/console/liability?region=01&month=2025-10")
    assert refused.status_code == 403
    assert "Region Stockholm (01)" in refused.text
    trail = console.get("/access-trail", headers=all_roles()).json()
    views = [(e["subject"], e["kind"], e["path"], e["query"]) for e in trail]
    assert ("dev-finance-14", "finance", "/console/liability", "region=14&month=2025-10") in views


@pytest.mark.asyncio
async def test_oidc_redirect_carries_pkce_s256_state_and_nonce() -> None:
    settings = oidc.ConsoleSettings(
        oidc_issuer="https://idp.example", oidc_client_id="routing-console",
        oidc_authorize_url="https://idp.example/authorize",
        oidc_token_url="https://idp.example/token", _env_file=None,
    )  # type: ignore[call-arg]  # fmt: skip
    client = oidc.oidc_client(settings)
    assert client is not None
    found = await oidc.authorization(client, "https://console.example/console/login/callback")
    url = urlparse(found["url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (url.scheme, url.netloc, url.path) == ("https", "idp.example", "/authorize")
    assert query["response_type"] == "code"
    assert query["client_id"] == "routing-console"
    assert query["redirect_uri"] == "https://console.example/console/login/callback"
    assert query["scope"] == "openid profile"
    assert query["state"] == found["state"]
    assert query["nonce"] == found["nonce"]
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(found["code_verifier"].encode()).digest()  # RFC 7636 §4.2
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert 43 <= len(found["code_verifier"]) <= 128


def test_no_identity_provider_no_oidc_client() -> None:
    assert oidc.oidc_client(oidc.ConsoleSettings(_env_file=None)) is None  # type: ignore[call-arg]


def test_sign_in_starts_at_the_identity_provider(console: TestClient) -> None:
    settings = oidc.ConsoleSettings(
        oidc_issuer="https://idp.example", oidc_client_id="routing-console",
        oidc_authorize_url="https://idp.example/authorize",
        oidc_token_url="https://idp.example/token", _env_file=None,
    )  # type: ignore[call-arg]  # fmt: skip
    console.app.state.console_oidc = oidc.oidc_client(settings)  # type: ignore[attr-defined]
    assert "/console/login/oidc" in console.get("/console/login").text
    r = console.get("/console/login/oidc?next=/console/necessity")
    assert r.status_code == 302
    query = parse_qs(urlparse(r.headers["location"]).query)
    assert query["redirect_uri"] == ["http://testserver/console/login/callback"]
    assert query["code_challenge_method"] == ["S256"]
    assert "routing_console_login=" in r.headers["set-cookie"]
    # a callback whose state is not the one handed out is refused before any token request
    assert console.get("/console/login/callback?code=x&state=forged").status_code == 400
