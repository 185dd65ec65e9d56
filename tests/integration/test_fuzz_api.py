"""Schemathesis against the OpenAPI document with every check it has (``--checks all``):
generated requests (valid and invalid) on every operation, authenticated with a token holding
every role. No 5xx, no undocumented status or content type, no response that breaks its
schema, no schema-violating request accepted, no schema-valid request refused.

No allowance: every rule the server holds a request to is in the published schema
(docs/contracts.md, *One truth per field*), but two that relate a fact's field to the clock or
to another field (a fact dated in the future, a medically caused wait ending before it starts).
Those are declared on the 422 of the fact writes, and schemathesis' own extension point
(``tests/contracts/schemathesis_hooks.py``, a ``map_body`` hook) makes the generated facts obey
them; the checks are schemathesis' own, unchanged. The same hooks serve the plain CLI run
against a live server (tests/contracts/test_schemathesis_cli.py).

Bounded for CI: ``FUZZ_EXAMPLES`` examples per operation (default 25), no per-example
deadline, derandomised so a failure repeats; raise ``ROUTING_FUZZ_EXAMPLES`` locally to search
harder. The app runs on the in-memory store.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.specs.openapi.checks import positive_data_acceptance

import tests.contracts.schemathesis_hooks  # noqa: F401 - registers the map_body hook
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
TOKEN = all_roles()["Authorization"].removeprefix("Bearer ")


@schema.auth()
class BearerToken:
    """The token, given the way schemathesis gives credentials: a case it generates without
    them (to see the 401) goes without them."""

    def get(self, case: Any, ctx: Any) -> str:
        return TOKEN

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


load_all_checks()
ALL_CHECKS = CHECKS.get_all()
"""``--checks all``: every check schemathesis has, ``positive_data_acceptance`` as it is."""
assert len(ALL_CHECKS) >= 14
assert positive_data_acceptance in ALL_CHECKS


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_contract(case: Any) -> None:
    case.call_and_validate(checks=ALL_CHECKS)
