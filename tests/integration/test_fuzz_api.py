"""Schemathesis against the OpenAPI document: generated requests (valid and invalid) on every
operation, authenticated with a token holding every role, must never get a 5xx.

Bounded for CI: ``FUZZ_EXAMPLES`` examples per operation (default 25), no per-example
deadline, derandomised so a failure repeats; raise ``ROUTING_FUZZ_EXAMPLES`` locally to search
harder. The app runs on the in-memory store.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from api.app import create_app
from projections.db import open_read_models
from routing.config import Settings, StoreKind
from routing.store import open_episodes
from tests.auth_support import TEST_KEYS, all_roles

FUZZ_EXAMPLES = int(os.environ.get("ROUTING_FUZZ_EXAMPLES", "25"))

SETTINGS = Settings(  # type: ignore[call-arg]
    store=StoreKind.memory,
    read_wait_seconds=0,  # a generated min_position ahead of the store answers 409 at once
    _env_file=None,
    **TEST_KEYS,
)
# The store and read models are the test's, not the app's: schemathesis' client runs the app's
# lifespan around every call, and an owned in-memory store would be closed (lost) each time.
app = create_app(SETTINGS, service=open_episodes(SETTINGS), read_models=open_read_models(SETTINGS))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
HEADERS = all_roles()


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Any) -> None:
    response = case.call(headers=HEADERS)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}\n"
        f"body: {case.body!r}\nquery: {case.query!r}"
    )
