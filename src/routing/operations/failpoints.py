"""Failpoints: named places where a fault test freezes a process, to kill it exactly there.

``ROUTING_FAILPOINTS=name=N[,name=N...]`` makes the process stop itself (SIGSTOP) the N-th
time it passes ``reached(name)``, after a log line naming the place. The test sees the
stopped process (state ``T`` in ``/proc/<pid>/stat``) and kills it with SIGKILL: a real kill,
at a moment a plain SIGKILL from outside could only hit by chance (between a read model's
commit and its Kafka offset commit). Unset (always, outside tests): one dictionary lookup.

Places: ``projection-after-db-commit`` (a page's read-model transaction committed, its Kafka
offset commit not sent yet).
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)

_SPEC = os.environ.get("ROUTING_FAILPOINTS", "")
_armed: dict[str, int] = {
    name.strip(): int(count)
    for name, _, count in (item.partition("=") for item in _SPEC.split(",") if item.strip())
}


def reached(name: str) -> None:
    """Counts a pass; stops the process at the armed pass."""
    if name not in _armed:
        return
    _armed[name] -= 1
    if _armed[name] == 0:
        log.warning("failpoint %s reached: stopping the process (SIGSTOP)", name)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGSTOP)
