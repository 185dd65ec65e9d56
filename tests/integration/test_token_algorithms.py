"""Issue 16 item 1: a token whose header names an algorithm its key cannot verify (ES256 or
ES384 against the RSA key of a JWKS, with or without a known ``kid``, any signature) is a 401
on the FastAPI routes and on the fast lane alike, never a 500."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from routing.config import Environment, Settings
from tests import support as f

ISSUER, AUDIENCE = "https://idp.example.se", "routing-api"


def _jwks(tmp_path: Path, *keys: dict[str, Any]) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": list(keys)}))
    return path


def _settings(jwks: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        env=Environment.production,
        store="memory",
        auth_jwks_file=jwks,
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
        pseudonym_key=SecretStr("p" * 48),
        cipher_key=SecretStr("q0fLIAnkZp7wLj0m0J1E0g7Iqw6sA8kU4FQ8o0XW2bQ="),
    )


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "a", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, **extra}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forged(header: dict[str, Any], signature: bytes) -> str:
    """A token with any header and any signature bytes, as an attacker writes one."""
    body = _claims(roles=["auditor", "front_end"], provider_id=f.PROVIDER, care_region="04")
    parts = [json.dumps(header).encode(), json.dumps(body).encode()]
    return ".".join([*(_b64(p) for p in parts), _b64(signature)])


def _ec_signed(curve: ec.EllipticCurve, alg: str, kid: str | None) -> str:
    key = ec.generate_private_key(curve)
    headers = {"kid": kid} if kid else None
    return jwt.encode(_claims(roles=["auditor"]), key, algorithm=alg, headers=headers)


def _tokens() -> dict[str, str]:
    cases = {}
    for alg, curve in (("ES256", ec.SECP256R1()), ("ES384", ec.SECP384R1())):
        for kid in ("k1", None, "unknown"):
            cases[f"{alg}-kid={kid}-real-ec-signature"] = _ec_signed(curve, alg, kid)
            header = {"alg": alg, "typ": "JWT"} | ({"kid": kid} if kid else {})
            for name, sig in (("empty", b""), ("zeros", b"\0" * 64), ("junk", b"x" * 96)):
                cases[f"{alg}-kid={kid}-{name}-signature"] = _forged(header, sig)
    return cases


TOKENS = _tokens()


@pytest.mark.parametrize("jwk_names_alg", [True, False], ids=["jwk-alg", "jwk-no-alg"])
def test_es_tokens_against_an_rsa_jwks_are_401(tmp_path: Path, jwk_names_alg: bool) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    public |= {"kid": "k1", "use": "sig"} | ({"alg": "RS256"} if jwk_names_alg else {})
    statuses: dict[int, int] = {}
    with TestClient(create_app(_settings(_jwks(tmp_path, public)))) as c:
        for name, raw in TOKENS.items():
            headers = {"Authorization": f"Bearer {raw}"}
            for r in (
                c.get("/access-trail", headers=headers),  # FastAPI route
                c.post("/events", json=f.contact_requested(), headers=headers),  # fast lane
                c.post("/events/batch", json={"events": []}, headers=headers),
            ):
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                assert r.status_code == 401, (name, r.request.url.path, r.text)
                assert r.json()["code"] == "unauthorized"
        # the key's own algorithm still works
        good = jwt.encode(_claims(roles=["auditor"]), rsa_key, "RS256", headers={"kid": "k1"})
        assert c.get("/access-trail", headers={"Authorization": f"Bearer {good}"}).is_success
    assert statuses == {401: 3 * len(TOKENS)}


def test_ec_jwks_verifies_its_own_curve_only(tmp_path: Path) -> None:
    """An EC key of P-256 verifies ES256 tokens; a token claiming ES384 (or RS256) for it is
    a 401, as is an ES256 token signed by another key."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())) | {"kid": "e1"}
    with TestClient(create_app(_settings(_jwks(tmp_path, public)))) as c:

        def status(raw: str) -> int:
            return c.get("/access-trail", headers={"Authorization": f"Bearer {raw}"}).status_code

        claims = _claims(roles=["auditor"])
        assert status(jwt.encode(claims, key, "ES256", headers={"kid": "e1"})) == 200
        assert status(jwt.encode(claims, key, "ES256")) == 200  # no kid: the key that fits
        assert status(_forged({"alg": "ES384", "kid": "e1"}, b"\1" * 96)) == 401
        assert status(_forged({"alg": "RS256", "kid": "e1"}, b"\1" * 256)) == 401
        other = ec.generate_private_key(ec.SECP256R1())
        assert status(jwt.encode(claims, other, "ES256", headers={"kid": "e1"})) == 401
