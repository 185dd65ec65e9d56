"""Hash-chain checks in the background: the check reads the whole event log (about a minute
for a million events), far beyond a page's 300 ms, so the console starts it on a worker
thread keyed by an id and its page shows how far it has read, then the report, as what-if
runs do (api/console/runs.py).

A check asked for while another with the same anchor is still reading is that check (an
auditor reloading the page does not start a second walk of the log); one walk at a time.
The newest ``KEPT`` checks are kept in memory. The chain holds no personal data and is the
same for every auditor, so any auditor may open any check.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from routing.persistence.chain import ChainReport
from routing.persistence.chained import check_chain

KEPT = 20


@dataclass
class ChainCheck:
    id: str
    anchor: tuple[int, str] | None
    total: int
    read: int = 0
    report: ChainReport | None = None
    error: str | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def done(self) -> bool:
        return self.report is not None or self.error is not None

    def progress(self) -> dict[str, Any]:
        return {"read": self.read, "total": self.total, "done": self.done, "error": self.error}


class ChainChecks:
    def __init__(self) -> None:
        self._checks: OrderedDict[str, ChainCheck] = OrderedDict()
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()

    def start(self, recorder: Any, anchor: tuple[int, str] | None) -> ChainCheck:
        """A check of the chain as it is now (with ``anchor``), or the one already reading."""
        with self._lock:
            for check in self._checks.values():
                if not check.done and check.anchor == anchor:
                    return check
            check = ChainCheck(str(uuid.uuid4()), anchor, recorder.max_notification_id() or 0)
            self._checks[check.id] = check
            while len(self._checks) > KEPT:
                self._checks.popitem(last=False)
        threading.Thread(
            target=self._check, args=(check, recorder), name=f"console-chain-{check.id[:8]}",
            daemon=True,
        ).start()  # fmt: skip
        return check

    def get(self, check_id: str) -> ChainCheck | None:
        with self._lock:
            return self._checks.get(check_id)

    def _check(self, check: ChainCheck, recorder: Any) -> None:
        with self._one_at_a_time:
            try:
                report = check_chain(
                    recorder, anchor=check.anchor, progress=lambda p: setattr(check, "read", p)
                )
                check.read = max(check.read, check.total)
                check.report = report
            except Exception as exc:
                check.error = f"{type(exc).__name__}: {exc}"
