"""Token verification cost: a cached token against a full check (HS256 and RS256).

Prints microseconds per call of ``Authenticator.cached`` (the hot path for a client reusing its
token) and ``Authenticator.verify`` (signature, issuer, audience, expiry, claims). Run:
``.venv/bin/python benchmarks/auth.py``. Noisy on a shared machine: compare within one run.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from api.auth import Authenticator
from routing.config import Settings

N = 20_000


def per_call_us(fn: object, arg: str, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn(arg)  # type: ignore[operator]
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    now = int(time.time())
    claims = {"sub": "b", "iss": "https://idp", "aud": "routing", "exp": now + 3600,
              "roles": ["routing_client"]}  # fmt: skip
    secret = "bench-secret-0123456789abcdef0123456789abcdef"
    hs = Settings(_env_file=None, auth_dev_secret=SecretStr(secret), auth_issuer="https://idp")  # type: ignore[call-arg]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jwks.json"
        path.write_text(json.dumps({"keys": [jwk]}))
        rs = hs.model_copy(update={"auth_dev_secret": None, "auth_jwks_file": path})
        rows = []
        for name, settings, token in (
            ("HS256", hs, jwt.encode(claims, secret, algorithm="HS256")),
            ("RS256", rs, jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k"})),
        ):
            auth = Authenticator(settings)
            full = per_call_us(auth.verify, token, N // 10)
            auth.verify(token)
            cached = per_call_us(auth.cached, token, N)
            rows.append((name, full, cached))
    print(f"{'token':<8}{'verify us':>12}{'cached us':>12}{'ratio':>9}")
    for name, full, cached in rows:
        print(f"{name:<8}{full:>12.1f}{cached:>12.2f}{full / cached:>9.0f}x")


if __name__ == "__main__":
    main()
