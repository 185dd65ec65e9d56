"""A store, its relay's encoding and the necessity projection, wired without a broker.

As ``tests.liability_support``: facts go into the real event store, ``pump`` encodes each new
one exactly as the relay does and feeds it to the projection worker as consecutive offsets of
one partition. ``app`` builds the API with the necessity router on the same read models
(the lead wires it into ``create_app``; until then the test adds it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from fastapi import FastAPI

from api.app import create_app
from api.routes import necessity as necessity_routes
from projections.necessity import Necessity
from routing.config import Settings
from tests import support as s
from tests.projection_harness import ProjectionHarness

Body = dict[str, Any]


class NecessityHarness(ProjectionHarness):
    def __init__(self, settings: Settings, tmp: Any) -> None:
        super().__init__(settings, tmp, lambda s: Necessity(s.rulebook_policy()))

    def app(self) -> FastAPI:
        app = create_app(self.settings, service=self.service, read_models=self.db)
        wired = any(
            getattr(r, "original_router", None) is necessity_routes.router  # FastAPI >= 0.165
            or str(getattr(r, "path", "")).startswith("/necessity")
            for r in app.routes
        )
        if not wired:  # until the lead wires the router into create_app
            app.include_router(necessity_routes.router)
        return app


def visit(
    at: datetime,
    *,
    assessment: Body | None = None,
    offer: Body | None = None,
    decline: str | None = None,
    unit: str = s.CLINIC,
    episode: UUID | None = None,
    contact: str = "c1",
) -> list[Body]:
    """A physical visit held at ``at``: request 3 h before, then (assessment 2 h before),
    (distance offer 90 min before, declined for ``decline``), booking 1 h before, visit.
    ``assessment`` and ``offer`` are overrides of the factories' bodies."""
    eid = episode or uuid4()
    bodies = [
        s.contact_requested(
            eid, contact, occurred_at=at - timedelta(hours=3), requested_mode="physical"
        )
    ]
    if assessment is not None:
        bodies.append(assessed(eid, at - timedelta(hours=2), contact, **assessment))
    if offer is not None:
        bodies.append(
            s.distance_contact_offered(eid, contact, occurred_at=at - timedelta(minutes=90),
                                       **offer)
        )  # fmt: skip
        if decline is not None:
            bodies.append(
                s.offer_declined(eid, contact, occurred_at=at - timedelta(minutes=80),
                                 reason=decline)
            )  # fmt: skip
    bodies += [
        s.physical_visit_booked(
            eid, contact, occurred_at=at - timedelta(hours=1), care_unit_id=unit, scheduled_for=at
        ),
        s.physical_visit_held(eid, contact, occurred_at=at),
    ]
    return bodies


def assessed(eid: UUID | str, at: datetime, contact: str | None = "c1", **o: Any) -> Body:
    """A licensed nurse's assessment; ``failed=[...]`` makes it physical_required."""
    failed = o.pop("failed", None)
    if failed:
        o |= {"outcome": "physical_required", "failed_principles": failed}
    return s.need_and_suitability_assessed(eid, contact, occurred_at=at, **o)
