"""Issue 21 item 9: read-your-writes. Writes answer with a store position; a read model is at
position P once it has applied every fact up to P it needs; reads wait for ``min_position``.

The tracker is checked against a real store and a real projection worker fed the relay's own
messages (tests/projection_harness.py); the whole loop, with the relay, the bundled broker and
the runners, runs in ``routing dev`` as a subprocess."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from projections.liability import Liability
from projections.necessity import Necessity
from projections.positions import ProjectionPositions
from routing.config import Settings
from routing.episodes.events import parse_event
from routing.messaging.bundled import free_port
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions
from tests import support as f
from tests.integration.test_first_hour_cli import ROUTING, _env, _running
from tests.projection_harness import ProjectionHarness


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProjectionHarness]:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    made = ProjectionHarness(
        settings,
        tmp_path,
        lambda s: Liability(s.rulebook_policy(), load_catalogue(), load_regions()),
    )
    yield made
    made.close_all()


def _tracker(h: ProjectionHarness) -> ProjectionPositions:
    interesting = {"liability": Liability.interesting, "necessity": Necessity.interesting}
    return ProjectionPositions(h.service, h.db, interesting, topic="t", partitions=1)


def test_a_read_model_is_at_a_position_once_it_applied_the_facts(
    harness: ProjectionHarness,
) -> None:
    tracker = _tracker(harness)
    written = harness.service.record_batch([parse_event(b) for b in f.typical_journey()])
    position = written[-1].position
    assert position == harness.service.event_count()  # the write's own transaction's end
    assert tracker.position("liability") < position  # stored, not applied
    harness.pump()
    assert tracker.position("liability") == position
    later = harness.service.record_batch([parse_event(b) for b in f.typical_journey()])
    assert tracker.position("liability") < later[-1].position <= tracker.store_position()
    harness.pump()
    assert tracker.positions()["liability"] == later[-1].position


def test_facts_a_read_model_ignores_do_not_hold_it_back(harness: ProjectionHarness) -> None:
    """treatment_decided is nothing to the liability read model: stored but never applied,
    the model is still at the write's position (a read waiting for it must not time out)."""
    tracker = _tracker(harness)
    episode = uuid.uuid4()
    harness.record(f.typical_journey(episode)[:-1])
    assert "treatment_decided" not in Liability.interesting
    last = harness.service.record(parse_event(f.typical_journey(episode)[-1]))
    assert tracker.position("liability") == last.position


def test_routing_dev_reads_see_their_writes(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [ROUTING, "dev", "--port", str(port), "--data-dir", str(tmp_path), "--demo-episodes", "5"]
    with _running(cmd, port, cwd=tmp_path, env=_env(ROUTING_READ_WAIT_SECONDS="3"),
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):  # fmt: skip
        token = _token(tmp_path)
        auth = {"Authorization": f"Bearer {token}"}
        _caught_up(base)  # the runners' first join of their consumer groups takes seconds
        episode = str(uuid.uuid4())
        start = f.T0.replace(year=2026, month=1)
        journey = f.typical_journey(episode, start)
        journey[2] |= ADEQUATE  # by criteria the care region (04) adopted for 2026
        posted = httpx.post(f"{base}/events/batch", headers=auth, json={"events": journey})
        assert posted.status_code == 201, posted.text
        position = posted.json()["position"]
        assert position == max(r["position"] for r in posted.json()["results"])
        explained = httpx.get(
            f"{base}/finance/contacts/{episode}/c1", headers=auth,
            params={"min_position": position}, timeout=10,
        )  # fmt: skip
        assert explained.status_code == 200, explained.text  # not a 404: it waited
        decision = explained.json()["decision"]
        # C9: posted in order in one batch, weeks after it happened: nothing was learnt late
        assert decision["status"] == "home_region_liable"
        assert "assessment_recorded_late" not in decision["flags"]
        closing = {
            "event_id": str(uuid.uuid4()), "home_region": "14", "care_region": "04",
            "month": "2026-01", "occurred_at": "2026-02-02T09:00:00+01:00", "source": "finance-ui",
        }  # fmt: skip
        closed = httpx.post(f"{base}/finance/months/close", headers=auth, json=closing)
        assert closed.status_code == 201, closed.text
        invoices = httpx.get(
            f"{base}/finance/invoices", headers=auth, timeout=10,
            params={"care_region": "04", "home_region": "14", "month": "2026-01",
                    "min_position": closed.json()["position"]},
        )  # fmt: skip
        assert invoices.status_code == 200, invoices.text  # at once: no 409 "not closed"
        positions = httpx.get(f"{base}/projections/positions").json()
        assert set(positions["projections"]) == {
            "episode_summary", "liability", "necessity", "care_guarantee", "indicators"
        }  # fmt: skip
        assert positions["projections"]["liability"] >= closed.json()["position"]
        assert positions["store"] >= closed.json()["position"]
        ahead = positions["store"] + 1000
        began = time.monotonic()
        refused = httpx.get(
            f"{base}/finance/liability", headers=auth, timeout=10,
            params={"home_region": "14", "month": "2026-01", "min_position": ahead},
        )  # fmt: skip
        assert refused.status_code == 409
        body = refused.json()
        assert body["code"] == "not_yet_projected"
        assert body["min_position"] == ahead
        assert body["position"] < ahead
        assert refused.headers["retry-after"] == "1"
        assert 3.0 <= time.monotonic() - began < 8  # waited the configured time, no longer
        history = httpx.get(
            f"{base}/episodes/{episode}/history", headers=auth, params={"min_position": position}
        )
        assert history.status_code == 200


ADEQUATE = {
    "criteria_set": {"id": "national-digital", "version": "2025.1", "owning_region": None},
    "answered_criteria": ["p1", "p2", "p3", "p4", "n1", "n2", "n3"],
}


def _caught_up(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = httpx.get(f"{base}/projections/positions").json()
        if all(p == found["store"] for p in found["projections"].values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"projections not caught up: {found}")


def _token(data_dir: Path) -> str:
    done = subprocess.run(
        [ROUTING, "token", "--role", "front_end", "--role", "finance", "--role", "auditor",
         "--data-dir", str(data_dir)],
        env=_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()
