# Over 300 lines because one matrix, every route against every role, and its rule table.
"""Authentication and authorisation on every route.

The matrix is generated from ``app.routes``: a route without a rule in ``RULES`` fails
``test_every_route_has_a_rule``, so a new route cannot ship unprotected by accident. For each
route: no token is a 401, a token of each role outside the rule is a 403, and a token of each
role inside it gets past authorisation (whatever the handler then says about the input).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from routing.access import ANY, Role
from routing.config import Environment, Settings
from routing.keys import MissingKeys, resolve_keys
from tests import support as f
from tests.auth_support import all_roles, bearer, token

PUBLIC = frozenset({"public"})
REFERENCE = (  # public reference data: every role reads it
    "criteria-sets", "fee-schedules", "price-lists", "provider-reimbursement",
    "referral-requirements", "entry-points", "regions",
)  # fmt: skip
R = Role
RULES: dict[tuple[str, str], frozenset[Any]] = {
    ("POST", "/events"): frozenset({R.front_end}),
    ("POST", "/events/batch"): frozenset({R.front_end}),
    ("GET", "/episodes/{episode_id}"): frozenset({R.auditor, R.front_end}),
    ("GET", "/episodes/{episode_id}/history"): frozenset({R.auditor, R.front_end}),
    ("POST", "/routing/decisions"): frozenset({R.routing_client}),
    ("GET", "/projections/episode-summary"): frozenset({R.finance, R.auditor}),
    ("GET", "/finance/liability"): frozenset({R.finance, R.auditor}),
    ("GET", "/finance/liability/contacts"): frozenset({R.finance, R.auditor}),
    ("GET", "/finance/contacts/{episode_id}/{contact_id}"): frozenset({R.finance, R.auditor}),
    ("GET", "/finance/invoices"): frozenset({R.finance, R.auditor}),
    ("POST", "/finance/months/close"): frozenset({R.finance, R.auditor}),
    ("GET", "/necessity/summary"): frozenset({R.finance, R.auditor}),
    ("GET", "/necessity/breaches"): frozenset({R.finance, R.auditor}),
    ("GET", "/necessity/visits/{episode_id}/{contact_id}"): frozenset({R.finance, R.auditor}),
    ("GET", "/care-guarantee/summary"): frozenset({R.finance, R.auditor}),
    ("GET", "/care-guarantee/breaches"): frozenset({R.finance, R.auditor}),
    ("GET", "/care-guarantee/at-risk"): frozenset({R.finance, R.auditor}),
    ("GET", "/care-guarantee/episodes/{episode_id}"): frozenset({R.finance, R.auditor}),
    ("GET", "/indicators/regions/{home_region}"): frozenset({R.finance, R.auditor}),
    ("GET", "/indicators/regions/{home_region}/municipalities"): frozenset({R.finance, R.auditor}),
    ("GET", "/indicators/national"): frozenset({R.finance, R.auditor}),
    ("GET", "/access-trail"): frozenset({R.auditor}),
    ("GET", "/audit/episodes/{episode_id}/known"): frozenset({R.auditor}),
    ("GET", "/audit/episodes/{episode_id}/occurred"): frozenset({R.auditor}),
    ("GET", "/audit/episodes/{episode_id}/learnt"): frozenset({R.auditor}),
    ("GET", "/audit/chain"): frozenset({R.auditor}),
    ("POST", "/audit/simulations"): frozenset({R.auditor}),
    ("GET", "/admin/reference-data"): frozenset({R.administrator}),
    ("POST", "/admin/reference-data/reload"): frozenset({R.administrator}),
    **{("GET", f"/reference/{name}"): frozenset(Role) for name in REFERENCE},
    ("GET", "/health"): PUBLIC,
    ("GET", "/projections/positions"): PUBLIC,  # store positions only: no data
    # probes and the Prometheus scrape: no patient or finance data, reached by the platform
    ("GET", "/live"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/schemas/events"): PUBLIC,
    ("GET", "/schemas/events/{event_type}"): PUBLIC,
}
OPEN_DOCS = ["/openapi.json", "/docs", "/redoc"]
EPISODE = "0b6f1f52-5a53-4c55-9a8e-6f0d6f7c2a11"
PATH_VALUES = {"episode_id": EPISODE, "contact_id": "c1", "event_type": "contact_requested",
               "home_region": "14"}  # fmt: skip


def _routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every API route, through included routers at any depth."""
    found: list[tuple[str, str]] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.extend((m, prefix + route.path) for m in sorted(route.methods))
            elif hasattr(route, "original_router"):  # FastAPI's included router
                walk(route.original_router.routes, prefix + route.include_context.prefix)

    walk(app.routes, "")
    assert found, "no API routes found: has FastAPI changed how it keeps them?"
    return found


@pytest.fixture
def app(memory_settings: Settings) -> Any:
    return create_app(memory_settings)


@pytest.fixture
def anonymous(app: Any) -> Any:
    with TestClient(app) as c:
        yield c


def _call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    url = path.format(**PATH_VALUES)
    return client.request(method, url, headers=headers, json={} if method == "POST" else None)


def _token_for(role: Role) -> dict[str, str]:
    """A single-role token, bound as its role requires."""
    bindings: dict[str, Any] = {}
    if role is Role.front_end:
        bindings = {"provider_id": f.PROVIDER, "care_region": f.CARE_REGION}
    if role is Role.finance:
        bindings = {"region": "14"}
    return bearer([role], **bindings)


def test_every_route_has_a_rule(app: Any) -> None:
    missing = [r for r in _routes(app) if r not in RULES]
    assert not missing, f"routes without an access rule in RULES: {missing}"
    stale = [r for r in RULES if r not in _routes(app)]
    assert not stale, f"rules for routes that no longer exist: {stale}"


def test_matrix(anonymous: TestClient, app: Any) -> None:
    for method, path in _routes(app):
        allowed = RULES[(method, path)]
        anon = _call(anonymous, method, path)
        if allowed is PUBLIC:
            assert anon.status_code not in (401, 403), (method, path, anon.text)
            continue
        assert anon.status_code == 401, (method, path, anon.text)
        assert anon.json()["code"] == "unauthorized"
        assert anon.headers["www-authenticate"].startswith("Bearer")
        for role in Role:
            r = _call(anonymous, method, path, _token_for(role))
            if role in allowed:
                assert r.status_code != 401, (method, path, role, r.text)
                if r.status_code == 403:  # a binding check may refuse, never the role check
                    assert "roles" not in r.json()["message"], (method, path, role, r.text)
            else:
                assert r.status_code == 403, (method, path, role, r.text)
                assert r.json()["code"] == "forbidden", r.text
                assert "roles" in r.json()["message"]


def test_docs_stay_open(anonymous: TestClient) -> None:
    for path in OPEN_DOCS:
        assert anonymous.get(path).status_code == 200, path


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
        bearer([Role.auditor], secret="another-secret-of-sufficient-length-000000"),
        bearer([Role.auditor], lifetime=-120),
        bearer([Role.auditor], audience="someone-else"),
        bearer([Role.auditor], issuer="https://evil.example"),
        {"Authorization": "Bearer " + jwt.encode({"sub": "x", "roles": ["auditor"]}, None, "none")},
    ],
    ids=["basic", "empty", "garbage", "wrong-key", "expired", "audience", "issuer", "alg-none"],
)
def test_bad_tokens_are_401(anonymous: TestClient, headers: dict[str, str]) -> None:
    r = anonymous.get("/access-trail", headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "unauthorized"


def test_front_end_token_without_binding_is_401(anonymous: TestClient) -> None:
    r = anonymous.post("/events", json=f.contact_requested(), headers=bearer([Role.front_end]))
    assert r.status_code == 401
    assert "provider_id" in r.json()["message"]


# --- bindings ---------------------------------------------------------------------------


def _front_end(provider: str = f.PROVIDER, region: str = f.CARE_REGION) -> dict[str, str]:
    return bearer([Role.front_end], provider_id=provider, care_region=region)


def test_front_end_posts_only_for_its_provider_and_care_region(anonymous: TestClient) -> None:
    mine = f.contact_requested()
    assert anonymous.post("/events", json=mine, headers=_front_end()).status_code == 201
    other_provider = _front_end(provider="SE2321000032-999999")
    r = anonymous.post("/events", json=f.contact_requested(), headers=other_provider)
    assert r.status_code == 403, r.text
    assert r.json() | {"message": ""} == {
        "code": "forbidden",
        "field": "provider_id",
        "message": "",
    }
    r = anonymous.post("/events", json=f.contact_requested(), headers=_front_end(region="01"))
    assert r.status_code == 403
    assert r.json()["field"] == "care_region"
    # a later fact of someone else's episode
    later = f.triage_completed(mine["episode_id"])
    r = anonymous.post("/events", json=later, headers=other_provider)
    assert r.status_code == 403, r.text
    assert anonymous.post("/events", json=later, headers=_front_end()).status_code == 201
    # the batch route checks every item and stores none when one is refused
    batch = {"events": [f.contact_requested(), f.contact_requested(care_region="01")]}
    r = anonymous.post("/events/batch", json=batch, headers=_front_end())
    assert r.status_code == 403
    assert r.json()["index"] == 1
    # reading: its own episode, not another's
    ep = mine["episode_id"]
    assert anonymous.get(f"/episodes/{ep}", headers=_front_end()).status_code == 200
    assert anonymous.get(f"/episodes/{ep}", headers=other_provider).status_code == 403
    assert anonymous.get(f"/episodes/{ep}/history", headers=other_provider).status_code == 403


def test_finance_reads_only_its_region(anonymous: TestClient) -> None:
    vgr = bearer([Role.finance], region="14")
    ok = {"home_region": "14", "month": "2025-10"}
    assert anonymous.get("/finance/liability", params=ok, headers=vgr).status_code == 200
    other = {"home_region": "01", "month": "2025-10"}
    assert anonymous.get("/finance/liability", params=other, headers=vgr).status_code == 403
    # as care region it sees its own contacts of another home region, no others
    r = anonymous.get("/finance/liability/contacts", params=other, headers=vgr)
    assert r.status_code == 200
    r = anonymous.get(
        "/finance/liability/contacts", params=other | {"care_region": "04"}, headers=vgr
    )
    assert r.status_code == 403
    inv = {"care_region": "04", "home_region": "01", "month": "2025-10"}
    assert anonymous.get("/finance/invoices", params=inv, headers=vgr).status_code == 403
    for path, params in [
        ("/necessity/summary", {"care_region": "01", "month": "2025-10"}),
        ("/necessity/breaches", {"care_region": "01", "month": "2025-10"}),
        ("/care-guarantee/summary", {"region": "01", "period": "2025-10"}),
        ("/care-guarantee/breaches", {"region": "01"}),
        ("/care-guarantee/at-risk", {"region": "01"}),
    ]:
        assert anonymous.get(path, params=params, headers=vgr).status_code == 403, path
    assert anonymous.get("/care-guarantee/breaches", headers=vgr).status_code == 200
    assert anonymous.get("/care-guarantee/at-risk", headers=vgr).status_code == 200
    close = {
        "event_id": "6f4c5c3e-2f59-4a55-8a0b-1d2e3f405199",
        "billing_month_id": "6f4c5c3e-2f59-4a55-8a0b-1d2e3f405198",
        "care_region": "04",
        "home_region": "01",
        "month": "2025-10",
        "occurred_at": "2025-11-05T10:00:00+01:00",
        "source": "finance",
    }
    r = anonymous.post("/finance/months/close", json=close, headers=vgr)
    assert r.status_code in (403, 422), r.text
    auditor = bearer([Role.auditor])
    r = anonymous.post("/finance/months/close", json=close, headers=auditor)
    assert r.status_code in (403, 422), r.text


def test_reads_of_finance_and_audit_data_are_in_the_access_trail(anonymous: TestClient) -> None:
    vgr = bearer([Role.finance], region="14", sub="finance-clerk-1")
    params = {"home_region": "14", "month": "2025-10"}
    anonymous.get("/finance/liability", params=params, headers=vgr)
    anonymous.get("/episodes/" + EPISODE, headers=bearer([Role.auditor], sub="auditor-7"))
    auditor = bearer([Role.auditor], sub="auditor-9")
    anonymous.get("/access-trail", headers=auditor)  # recorded with its outcome, once answered
    trail = anonymous.get("/access-trail", headers=auditor).json()
    kinds = {(e["subject"], e["kind"], e["path"]) for e in trail}
    assert ("finance-clerk-1", "finance", "/finance/liability") in kinds
    assert ("auditor-7", "audit", "/episodes/" + EPISODE) in kinds
    assert ("auditor-9", "audit", "/access-trail") in kinds  # reading the trail is recorded
    clerk = next(e for e in trail if e["subject"] == "finance-clerk-1")
    assert clerk["query"] == "home_region=14&month=2025-10"
    assert clerk["region"] == "14"
    only = anonymous.get(
        "/access-trail", params={"subject": "finance-clerk-1"}, headers=all_roles()
    ).json()
    assert {e["subject"] for e in only} == {"finance-clerk-1"}
    naive = anonymous.get(
        "/access-trail", params={"since": "2025-01-01T00:00"}, headers=all_roles()
    )
    assert naive.status_code == 422
    assert naive.json()["field"] == "query.since"


def test_administrator_reloads_reference_data(anonymous: TestClient) -> None:
    admin = bearer([Role.administrator])
    current = anonymous.get("/admin/reference-data", headers=admin).json()
    r = anonymous.post("/admin/reference-data/reload", headers=admin)
    assert r.status_code == 200
    assert r.json() == current


# --- keys and modes -----------------------------------------------------------------------


def test_verified_tokens_are_cached_until_exp(app: Any, anonymous: TestClient) -> None:
    headers = bearer([Role.auditor])
    raw = headers["Authorization"].split()[1]
    assert anonymous.get("/access-trail", headers=headers).status_code == 200
    authenticator = app.state.authenticator
    assert authenticator.cached(raw) is not None
    authenticator._cache[raw] = (authenticator._cache[raw][0], time.time() - 1)
    assert authenticator.cached(raw) is None  # expired entries are not served


def test_token_cache_is_bounded(memory_settings: Settings) -> None:
    app = create_app(memory_settings.model_copy(update={"token_cache_size": 3}))
    with TestClient(app) as c:
        for _ in range(5):
            assert c.get("/access-trail", headers=bearer([Role.auditor])).status_code == 200
    assert len(app.state.authenticator._cache) == 3


def _rsa_jwks(tmp_path: Path) -> tuple[Any, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public |= {"kid": "k1", "use": "sig", "alg": "RS256"}
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [public]}))
    return key, path


def _production(tmp_path: Path, jwks: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        env=Environment.production,
        store="memory",
        auth_jwks_file=jwks,
        auth_issuer="https://idp.example.se",
        auth_audience="routing-api",
        pseudonym_key=SecretStr("p" * 48),
        cipher_key=SecretStr("q0fLIAnkZp7wLj0m0J1E0g7Iqw6sA8kU4FQ8o0XW2bQ="),
    )


def test_rs256_tokens_from_a_jwks_file_in_production(tmp_path: Path) -> None:
    key, jwks = _rsa_jwks(tmp_path)
    settings = _production(tmp_path, jwks)
    now = int(time.time())
    claims = {"sub": "a", "iss": "https://idp.example.se", "aud": "routing-api", "exp": now + 60}

    def signed(**extra: Any) -> dict[str, str]:
        raw = jwt.encode(claims | extra, key, algorithm="RS256", headers={"kid": "k1"})
        return {"Authorization": f"Bearer {raw}"}

    with TestClient(create_app(settings)) as c:
        assert c.get("/access-trail", headers=signed(roles=["auditor"])).status_code == 200
        assert (
            c.get("/access-trail", headers=signed(roles=["finance"], region="14")).status_code
            == 403
        )
        # a wildcard binding is development only
        wild = signed(roles=["finance"], region=ANY)
        assert c.get("/access-trail", headers=wild).status_code == 401
        # the development secret is not accepted in production (HS256 refused)
        assert c.get("/access-trail", headers=all_roles()).status_code == 401


def test_production_refuses_to_start_without_real_keys(tmp_path: Path) -> None:
    _, jwks = _rsa_jwks(tmp_path)
    good = _production(tmp_path, jwks)
    assert resolve_keys(good) is good
    for missing in ("auth_jwks_file", "pseudonym_key", "cipher_key"):
        with pytest.raises(MissingKeys, match="production start refused"):
            create_app(good.model_copy(update={missing: None}))
    with pytest.raises(MissingKeys, match="DEV_SECRET"):
        create_app(good.model_copy(update={"auth_dev_secret": SecretStr("x" * 40)}))
    with pytest.raises(MissingKeys, match="ISSUER"):
        create_app(good.model_copy(update={"auth_issuer": "routing-dev"}))


def test_development_generates_keys_once(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, sqlite_path=tmp_path / "r.db", dev_keys_path=tmp_path / "keys.json"
    )
    first = resolve_keys(settings)
    again = resolve_keys(settings)
    assert first.auth_dev_secret is not None
    assert first.auth_dev_secret == again.auth_dev_secret
    assert first.pseudonym_key == again.pseudonym_key
    assert first.cipher_key is not None  # a new store is encrypted from its first event
    assert "DEVELOPMENT ONLY" in (tmp_path / "keys.json").read_text()
    assert token([Role.auditor])  # the tests' own key signs too


# --- bad query input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/finance/liability", {"home_region": "02", "month": "2025-10"}, "home_region"),
        ("/finance/liability", {"home_region": "14", "month": "2025-13"}, "month"),
        (
            "/finance/liability/contacts",
            {"home_region": "14", "month": "2025-10", "care_region": "42"},
            "care_region",
        ),
        ("/necessity/summary", {"care_region": "16", "month": "2025-10"}, "care_region"),
        ("/care-guarantee/breaches", {"region": "11"}, "region"),
        ("/projections/episode-summary", {"home_region": "15"}, "home_region"),
        ("/projections/episode-summary", {"month": "2025-13"}, "month"),  # the kernel's month
    ],
)
def test_unknown_region_codes_in_queries_are_422(
    anonymous: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    r = anonymous.get(path, params=params, headers=all_roles())
    assert r.status_code == 422, r.text
    assert r.json()["field"] == f"query.{field}"


def test_rs256_tokens_from_a_jwks_url_including_a_rotated_key(tmp_path: Path) -> None:
    """The identity provider's JWKS served over real HTTP: tokens signed with its key pass,
    the fast lane included; a key it publishes later (rotation) is fetched when a token first
    names it; a key it never published is refused."""
    key, jwks_path = _rsa_jwks(tmp_path)
    served = {"body": jwks_path.read_bytes()}

    class Jwks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(served["body"])

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
        settings = _production(tmp_path, jwks_path).model_copy(
            update={"auth_jwks_file": None, "auth_jwks_url": url}
        )
        now = int(time.time())
        claims = {"sub": "a", "iss": "https://idp.example.se", "aud": "routing-api"}

        def signed(signing: Any, kid: str, **extra: Any) -> dict[str, str]:
            body = claims | {"exp": now + 60} | extra
            raw = jwt.encode(body, signing, algorithm="RS256", headers={"kid": kid})
            return {"Authorization": f"Bearer {raw}"}

        rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with TestClient(create_app(settings)) as c:
            assert c.get("/access-trail", headers=signed(key, "k1", roles=["auditor"])).is_success
            decision = {"request_id": str(uuid.uuid4())}  # invalid body: auth comes first
            client = signed(key, "k1", roles=["routing_client"])
            assert c.post("/routing/decisions", json=decision, headers=client).status_code == 422
            # rotation: the provider publishes its next key, then signs with it. pyjwt fetches
            # an unknown kid at most once per cooldown (30 s: it shields the provider from
            # floods of made-up kids), so right after the initial fetch the new key waits;
            # once the cooldown is over it is fetched and accepted.
            public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rotated.public_key()))
            keys = json.loads(served["body"])["keys"]
            served["body"] = json.dumps({"keys": [*keys, public | {"kid": "k2"}]}).encode()
            next_key = signed(rotated, "k2", roles=["auditor"])
            assert c.get("/access-trail", headers=next_key).status_code == 401
            c.app.state.authenticator._jwks_client.cooldown_duration = 0  # type: ignore[attr-defined]
            assert c.get("/access-trail", headers=next_key).status_code == 200
            stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            unknown = signed(stranger, "k3", roles=["auditor"])
            assert c.get("/access-trail", headers=unknown).status_code == 401  # never published
    finally:
        server.shutdown()
