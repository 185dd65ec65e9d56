"""What-if runs in the background: a simulation reads the whole event log (minutes on a
national store), so the console starts it on a worker thread keyed by an id and the page
shows how far it has read, then the result.

The run is ``audit.simulate`` (src/routing/audit/service.py) step for step (a ``Simulator``
fed ``episode_facts`` of a ``FactReader``), with the reader counting the store positions it
has passed. One at a time (a lock the runs queue on): two at once would only share the
same cores and both finish later. The newest ``KEPT`` runs are kept in memory; a run
belongs to the auditor who started it. Daemon threads: stopping the server does not wait
for a run to finish.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from routing.audit.models import SimulationIn, SimulationOut, simulation_out
from routing.audit.reading import FactReader, StoredFact
from routing.audit.service import episode_facts
from routing.audit.simulation import Simulator
from routing.episodes.service import CareEpisodes
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions

KEPT = 20
PAGE = 1000  # facts a page: finer steps of progress than the API's 5000, at little cost


@dataclass
class Run:
    id: str
    owner: str
    body: SimulationIn
    total: int
    read: int = 0
    result: SimulationOut | None = None
    error: str | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def progress(self) -> dict[str, Any]:
        return {"read": self.read, "total": self.total, "done": self.done, "error": self.error}


class _CountingReader(FactReader):
    """The reader ``audit.simulate`` uses, up to the position the run started at, noting
    each page's last position on the run as it goes."""

    def __init__(self, service: CareEpisodes, run: Run) -> None:
        super().__init__(service, PAGE)
        self.run = run

    def pages(self, after: int = 0, until: int | None = None) -> Iterator[list[StoredFact]]:
        for page in super().pages(after, self.run.total if until is None else until):
            if page:
                self.run.read = page[-1].position
            yield page


class Runs:
    def __init__(self) -> None:
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()

    def start(
        self, episodes: CareEpisodes, baseline: RulebookPolicy, body: SimulationIn, owner: str,
        limit: int,
    ) -> Run:  # fmt: skip
        run = Run(str(uuid.uuid4()), owner, body, total=FactReader(episodes).last_position())
        with self._lock:
            self._runs[run.id] = run
            while len(self._runs) > KEPT:
                self._runs.popitem(last=False)
        threading.Thread(
            target=self._simulate, args=(run, episodes, baseline, limit),
            name=f"console-what-if-{run.id[:8]}", daemon=True,
        ).start()  # fmt: skip
        return run

    def get(self, run_id: str, owner: str) -> Run | None:
        with self._lock:
            run = self._runs.get(run_id)
        return run if run is not None and run.owner == owner else None

    def _simulate(
        self, run: Run, episodes: CareEpisodes, baseline: RulebookPolicy, limit: int
    ) -> None:
        with self._one_at_a_time:
            _simulate(run, episodes, baseline, limit)


def _simulate(run: Run, episodes: CareEpisodes, baseline: RulebookPolicy, limit: int) -> None:
    try:
        simulator = Simulator(
            baseline, run.body.alternative(baseline), run.body.scope(), load_catalogue(),
            load_regions(),
        )  # fmt: skip
        simulator.add_all(episode_facts(_CountingReader(episodes, run)))
        run.read = run.total
        run.result = simulation_out(simulator.result(), limit)
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
