"""Issue 16 item 6 over HTTP: a front-end cannot take over another provider's episode, sees
only the facts it owns, and the whole matrix of front-ends x fact types answers 403 exactly
where docs/access.md says (the fast lane records; FastAPI reads)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from routing.access import Role
from routing.config import Settings
from tests import support as f
from tests.auth_support import all_roles, bearer
from tests.ownership_support import FRONT_ENDS, HOLDER, JOINED, MAY_RECORD, episode_bodies, variants


def _as(bound: tuple[str, str]) -> dict[str, str]:
    return bearer([Role.front_end], provider_id=bound[0], care_region=bound[1])


@pytest.fixture
def client(any_settings: Settings) -> Any:
    with TestClient(create_app(any_settings)) as c:
        yield c


def _post(client: TestClient, body: dict[str, Any], who: tuple[str, str]) -> int:
    return client.post("/events", json=body, headers=_as(who)).status_code


def test_the_reported_takeover_is_refused(client: TestClient) -> None:
    """Another provider names itself into the episode, reads it, corrects its home region."""
    ep = str(uuid4())
    journey = f.typical_journey(ep)[:8]
    assert client.post("/events/batch", json={"events": journey}, headers=_as(HOLDER)).is_success
    attacker = ("SE2321000032-000099", "12")
    joining = f.contact_requested(ep, "x1", provider_id=attacker[0], care_region=attacker[1])
    r = client.post("/events", json=joining, headers=_as(attacker))
    assert (r.status_code, r.json()["field"]) == (403, "episode_id"), r.text
    assert client.get(f"/episodes/{ep}/history", headers=_as(attacker)).status_code == 403
    assert client.get(f"/episodes/{ep}", headers=_as(attacker)).status_code == 403
    assert _post(client, f.home_region_corrected(ep), attacker) == 403
    assert _post(client, f.contact_cancelled(ep, "c1"), attacker) == 403
    # the same through a batch (FastAPI's and the fast lane's batch path)
    batch = {"events": [joining, f.home_region_corrected(ep)]}
    assert client.post("/events/batch", json=batch, headers=_as(attacker)).status_code == 403
    history = client.get(f"/episodes/{ep}/history", headers=all_roles()).json()["events"]
    assert [e["type"] for e in history] == [b["type"] for b in journey]  # nothing got in


def test_a_referral_accepted_lets_the_receiver_in_to_its_own_contacts(client: TestClient) -> None:
    ep = str(uuid4())
    holder_facts = [
        *f.typical_journey(ep)[:8],
        f.referral_issued(ep, "r1", target_region="14"),
        f.referral_accepted(ep, "r1"),
    ]
    assert client.post(
        "/events/batch", json={"events": holder_facts}, headers=_as(HOLDER)
    ).is_success
    own = f.contact_requested(ep, "c2", provider_id=JOINED[0], care_region=JOINED[1])
    assert _post(client, own, JOINED) == 201
    assert _post(client, f.contact_started(ep, "c2", mode="video"), JOINED) == 201
    # the joined provider sees its own contact and the referral, none of the holder's facts
    seen = client.get(f"/episodes/{ep}/history", headers=_as(JOINED)).json()["events"]
    assert [
        (e["type"], e["data"].get("contact_id") or e["data"].get("referral_id")) for e in seen
    ] == [
        ("referral_issued", "r1"),
        ("referral_accepted", "r1"),
        ("contact_requested", "c2"),
        ("contact_started", "c2"),
    ]
    state = client.get(f"/episodes/{ep}", headers=_as(JOINED)).json()["state"]
    assert (set(state["contacts"]), set(state["referrals"])) == ({"c2"}, {"r1"})
    # the holder no longer sees the other provider's contact
    held = client.get(f"/episodes/{ep}/history", headers=_as(HOLDER)).json()["events"]
    assert {e["data"].get("contact_id") for e in held} == {"c1", None}
    assert len(held) == len(holder_facts)
    # nothing crosses back: the joined provider changes neither c1 nor the home region
    assert _post(client, f.contact_cancelled(ep, "c1"), JOINED) == 403
    assert _post(client, f.home_region_corrected(ep), JOINED) == 403
    assert _post(client, f.home_region_corrected(ep), HOLDER) == 201
    assert _post(client, f.contact_cancelled(ep, "c2"), HOLDER) == 403


def test_the_matrix_over_http(client: TestClient) -> None:
    """Every front-end x every fact variant on a fresh copy of the two-provider episode:
    403 exactly where the hand-worked table says no; anything else gets past access (201,
    or a journey rule's 409)."""
    statuses: dict[str, dict[int, int]] = {}
    wrong = []
    for name, bound in FRONT_ENDS.items():
        for variant, allowed in MAY_RECORD.items():
            ep = str(uuid4())
            setup = client.post(
                "/events/batch", json={"events": episode_bodies(ep)}, headers=all_roles()
            )
            assert setup.status_code == 201, setup.text
            status = _post(client, variants(ep, *bound)[variant], bound)
            by = statuses.setdefault("allowed" if name in allowed else "refused", {})
            by[status] = by.get(status, 0) + 1
            if (status == 403) == (name in allowed) or status >= 500:
                wrong.append((name, variant, status))
    print("ownership matrix over HTTP, statuses:", statuses)
    assert wrong == []
