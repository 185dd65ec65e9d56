"""Replay hands projections the very CloudEvent the runner decodes off the topic.

``StoredFact.cloud_event`` builds it without the JSON round trip, each field only when read
(``ReplayFact``); this holds it equal, field by field (read one by one or all at once) and
in the fact it yields, to ``decode(encode(...))``: the relay's encoding and the
runner's decoding, for every kind of fact a demo store holds and a closed billing month.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from routing.audit.reading import FactReader
from routing.cli import load_demo
from routing.episodes.service import CareEpisodes
from routing.liability.billing import MonthClosed
from routing.liability.months import close_month
from routing.messaging.envelope import decode, encode

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def test_replayed_events_equal_the_decoded_messages() -> None:
    service = CareEpisodes(env=POPO)
    load_demo(service, episodes=120, seed=7, start=date(2025, 1, 1), end=date(2025, 3, 1))
    close_month(
        service,
        MonthClosed(
            event_id=uuid.uuid4(), home_region="14", care_region="04", month="2025-01",
            occurred_at=datetime(2025, 2, 3, 8, 0, tzinfo=UTC), source="finance-test",
        )
    )  # fmt: skip
    kinds: set[str] = set()
    for stored in FactReader(service).facts():
        for epoch in (0, 3):
            built = stored.cloud_event(epoch)
            decoded = decode(
                encode(
                    stored.fact, subject=stored.subject, recorded_at=stored.recorded_at,
                    position=stored.position, episode_version=stored.version, epoch=epoch,
                )
            )  # fmt: skip
            lazy = stored.cloud_event(epoch)  # read field by field, as projections do
            assert str(lazy.subject) == str(decoded.subject)
            assert lazy.event_type == decoded.event_type
            assert lazy.recordedat == decoded.recordedat
            assert (lazy.storeposition, lazy.episodeversion, lazy.relayepoch) == (
                decoded.storeposition, decoded.episodeversion, decoded.relayepoch
            )  # fmt: skip
            assert lazy.data == decoded.data
            assert lazy.fact_json() == decoded.fact_json()
            assert lazy.model_dump() == decoded.model_dump()  # the rest filled in
            assert built.model_dump() == decoded.model_dump(), stored.type
            assert list(built.fact_data().items()) == list(decoded.fact_data().items())
            assert built.time.isoformat() == decoded.time.isoformat()
            assert built.recordedat.isoformat() == decoded.recordedat.isoformat()
            if stored.type != "month_closed":
                assert built.fact() == decoded.fact()
                assert built.fact_json() == decoded.fact_json()
        kinds.add(stored.type)
    assert {"contact_requested", "contact_completed", "month_closed"} <= kinds
    assert len(kinds) >= 8, kinds
