"""What-if runs in the background: a simulation re-decides the liability read model's
decision inputs (seconds on a national store) or, when the read model cannot answer as the
log would, reads the whole event log (minutes), so the console starts it on a worker thread
keyed by an id and the page shows how far it has got, then the result.

The run is the API's (projections/whatif.py: the read model's path, else
``audit.simulate``'s log path step for step, a ``Simulator`` fed ``episode_facts`` of a
``FactReader`` counting the store positions it has passed; the read model's path reports its
rows as the same share of the store's positions). One at a time (a lock the runs queue
on): two at once would only share the same cores and both finish later. The newest
``KEPT`` runs are kept in memory; a run belongs to the auditor who started it. Daemon
threads: stopping the server does not wait for a run to finish.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from projections import whatif
from projections.db import ReadModelDB
from projections.positions import ProjectionPositions
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
        limit: int, read_model: tuple[ReadModelDB, ProjectionPositions] | None = None,
    ) -> Run:  # fmt: skip
        """``read_model``: the database and position tracker of the fast path (None: the
        log's)."""
        run = Run(str(uuid.uuid4()), owner, body, total=FactReader(episodes).last_position())
        with self._lock:
            self._runs[run.id] = run
            while len(self._runs) > KEPT:
                self._runs.popitem(last=False)
        threading.Thread(
            target=self._simulate, args=(run, episodes, baseline, limit, read_model),
            name=f"console-what-if-{run.id[:8]}", daemon=True,
        ).start()  # fmt: skip
        return run

    def get(self, run_id: str, owner: str) -> Run | None:
        with self._lock:
            run = self._runs.get(run_id)
        return run if run is not None and run.owner == owner else None

    def _simulate(
        self, run: Run, episodes: CareEpisodes, baseline: RulebookPolicy, limit: int,
        read_model: tuple[ReadModelDB, ProjectionPositions] | None,
    ) -> None:  # fmt: skip
        with self._one_at_a_time:
            if read_model is None or not _from_read_model(
                run, episodes, baseline, limit, *read_model
            ):
                _simulate(run, episodes, baseline, limit)


def _from_read_model(
    run: Run, episodes: CareEpisodes, baseline: RulebookPolicy, limit: int, db: ReadModelDB,
    positions: ProjectionPositions,
) -> bool:  # fmt: skip
    """The fast path, if the read model can answer as the log would (else False: the log's,
    with its progress by store position)."""
    try:
        if whatif.fallback_reason(db, positions) is not None:
            return False

        def progress(done: int, total: int) -> None:
            run.read = run.total * done // max(total, 1)

        policies = (baseline, run.body.alternative(baseline))
        answer = whatif.simulate(episodes, db, positions, policies, run.body.scope(), progress)
        run.read = run.total
        run.result = simulation_out(answer.simulation, limit, answer.path, answer.reason)
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    return True


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
