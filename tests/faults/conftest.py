"""Fixtures of the fault tier: a private PostgreSQL cluster per test, which it may restart.

Outside CI a machine without the PostgreSQL server binaries skips the tier; in CI (``CI``
set) it fails the run, because a skipped fault tier is not a pass.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from routing.config import Environment, Settings, StoreKind
from routing.messaging.bundled import BundledBroker, free_port
from tests.conftest import IN_CI
from tests.faults.pg_cluster import ClusterUnavailableError, PgCluster
from tests.kafka_support import Routing


@contextlib.contextmanager
def private_cluster() -> Iterator[PgCluster]:
    """A started cluster of the caller's own (trust auth, a free port, in /tmp: as root the
    ``postgres`` user must be able to reach it, which pytest's private tmp_path forbids)."""
    root = Path(tempfile.mkdtemp(prefix="routing-faults-pg-", dir="/tmp"))
    try:
        cluster = PgCluster(root)
    except ClusterUnavailableError as exc:
        root.rmdir()
        if IN_CI:
            pytest.fail(f"fault tier cannot run in CI: {exc}")
        pytest.skip(str(exc))
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    with private_cluster() as cluster:
        yield cluster


# --- the production stack as separate processes ----------------------------------------------

ISSUER, AUDIENCE = "https://idp.faults.example.se", "routing-api"
CIPHER_KEY = "q0fLIAnkZp7wLj0m0J1E0g7Iqw6sA8kU4FQ8o0XW2bQ="


class Signer:
    """An RS256 identity provider of the test: a JWKS file the processes read, tokens for
    the clients."""

    def __init__(self, directory: Path) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = directory / "jwks.json"
        self.jwks.write_text(json.dumps({"keys": [public | {"kid": "k1", "alg": "RS256"}]}))

    def headers(self, *roles: str, **claims: Any) -> dict[str, str]:
        now = int(time.time())
        body = {"sub": "fault-test", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
                "exp": now + 3600, "roles": list(roles), **claims}  # fmt: skip
        raw = jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "k1"})
        return {"Authorization": f"Bearer {raw}"}


def production_settings(dsn: str, bootstrap: str | None, signer: Signer, **update: Any) -> Settings:
    """Production mode: PostgreSQL, RS256 tokens from a JWKS file, pseudonym and cipher keys."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        env=Environment.production,
        store=StoreKind.postgres,
        postgres_dsn=dsn,
        kafka_bootstrap_servers=bootstrap,
        auth_jwks_file=signer.jwks,
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
        pseudonym_key=SecretStr("p" * 48),
        cipher_key=SecretStr(CIPHER_KEY),
        port=free_port(),
        **update,
    )


class Process(Routing):
    """``routing <args>`` with its own ops port (/live, /ready) and the settings' environment."""

    def __init__(self, settings: Settings, workdir: Path, *args: str) -> None:
        self.ops_port = settings.port if args[0] == "serve" else free_port()
        own = (
            settings
            if args[0] == "serve"
            else settings.model_copy(update={"metrics_port": self.ops_port})
        )
        super().__init__(own, workdir, *args)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ops_port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture
def broker() -> Iterator[BundledBroker]:
    b = BundledBroker().start()
    try:
        yield b
    finally:
        b.stop()
