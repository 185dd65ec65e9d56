"""Each process of the production stack SIGKILLed under load and started again (issue 15:
"keep that": nothing lost, nothing counted twice, ``routing verify`` equal; and the figure).

The production stack under steady load (``stack_support``). One process at a time (``serve``,
``relay``, ``ingest``, ``projections run``) is killed with SIGKILL in the middle of its work
and started again ``RESTART_AFTER_SECONDS`` later, as a supervisor (Kubernetes, systemd)
would. Recovery is measured from the new start. While the API is down the load's requests
get no answer (a client retries them with the same event id); what was answered 2xx must be
stored exactly once, every inbound record stored, the read models equal to the store.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from routing.messaging.bundled import BundledBroker
from tests.faults.conftest import Process
from tests.faults.load_support import Outcome
from tests.faults.stack_support import Fault, fault_under_load, recovery_seconds

pytestmark = pytest.mark.faults

RECOVERY_BOUND_SECONDS = 25.0
"""Loose on purpose (target 15 s): a busy 2-core machine must not fail the test."""
RESTART_AFTER_SECONDS = 1.0


def killing(name: str) -> Fault:
    async def kill(_: BundledBroker, procs: dict[str, Process], out: Outcome) -> None:
        await asyncio.to_thread(procs[name].sigkill)
        out.down_at = time.monotonic()
        await asyncio.sleep(RESTART_AFTER_SECONDS)
        procs[name].start()
        out.back_at = time.monotonic()

    return kill


@pytest.fixture(scope="module", params=["serve", "relay", "ingest", "projections"])
def outcome(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Outcome]]:
    name = str(request.param)
    workdir = tmp_path_factory.mktemp(f"killed-{name}")
    with fault_under_load(f"sigkill_{name}", workdir, killing(name)) as out:
        yield name, out


def test_recovers_with_nothing_lost_or_counted_twice(outcome: tuple[str, Outcome]) -> None:
    name, out = outcome
    figures = out.figures()
    assert out.exited == dict.fromkeys(out.exited), out.logs  # all running, the killed one again
    recovery = recovery_seconds(out)
    assert recovery is not None, out.logs
    print(f"{name} SIGKILLed: ready and lag 0 {recovery:.1f} s after it was started again")
    assert recovery < RECOVERY_BOUND_SECONDS, figures
    assert figures["lost"] == 0, figures
    assert figures["double"] == 0, figures
    assert max(out.stored.values()) == 1, "a fact stored twice"
    assert figures["projected_completed_contacts"] == figures["completed_contacts_stored"]
    statuses = Counter(a.status for a in out.answers)
    assert set(statuses) <= ({201, 0} if name == "serve" else {201}), statuses  # 0: no answer
    code, text = out.verify
    assert code == 0, text
