"""The binding rules, as properties: a front-end's facts land only in its own episodes."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.access import Forbidden, Principal, Role, check_recording, may_read_region
from routing.access.principal import InvalidClaims, principal_from_claims
from routing.episodes.events import parse_event
from routing.episodes.journey import EpisodeState
from tests import support as f

PROVIDERS = ["SE2321000032-000001", "SE2321000032-000002"]
REGIONS = ["01", "04"]


def front_end(provider: str, region: str) -> Principal:
    return Principal("fe", frozenset({Role.front_end}), provider_id=provider, care_region=region)


@given(
    bound=st.tuples(st.sampled_from(PROVIDERS), st.sampled_from(REGIONS)),
    contacts=st.lists(
        st.tuples(st.sampled_from(PROVIDERS), st.sampled_from(REGIONS)), min_size=1, max_size=4
    ),
)
def test_a_front_end_records_only_into_episodes_it_holds_a_contact_in(
    bound: tuple[str, str], contacts: list[tuple[str, str]]
) -> None:
    principal = front_end(*bound)
    episode = str(uuid4())
    state: EpisodeState | None = None
    for i, (provider, region) in enumerate(contacts):
        event = parse_event(
            f.contact_requested(
                episode, contact_id=f"c{i}", provider_id=provider, care_region=region
            )
        )
        allowed = (provider, region) == bound
        try:
            check_recording(principal, event, state)
            assert allowed
        except Forbidden:
            assert not allowed
        state = EpisodeState.open(event) if state is None else state
        if i:
            state.apply(event)
    assert state is not None
    # a fact about one contact: only that contact's front-end
    about_first = parse_event(f.triage_completed(episode, contact_id="c0"))
    try:
        check_recording(principal, about_first, state)
        assert contacts[0] == bound
    except Forbidden:
        assert contacts[0] != bound
    # a fact about the episode as a whole: any front-end holding a contact in it
    whole = parse_event(f.triage_completed(episode, contact_id=None))
    try:
        check_recording(principal, whole, state)
        assert bound in contacts
    except Forbidden:
        assert bound not in contacts


@given(region=st.sampled_from(["01", "04", "14"]), home=st.sampled_from(["01", "14"]))
def test_finance_reads_what_concerns_its_region(region: str, home: str) -> None:
    finance = Principal("fin", frozenset({Role.finance}), region=region)
    assert may_read_region(finance, home, "04") == (region in (home, "04"))
    auditor = Principal("aud", frozenset({Role.auditor}))
    assert may_read_region(auditor, home)
    assert not may_read_region(Principal("rc", frozenset({Role.routing_client})), home)


def test_claims() -> None:
    p = principal_from_claims({"sub": "x", "roles": "auditor finance", "region": "14"},
                              allow_wildcards=False)  # fmt: skip
    assert p.roles == {Role.auditor, Role.finance}
    assert (
        principal_from_claims({"sub": "x", "roles": ["nonsense"]}, allow_wildcards=False).roles
        == frozenset()
    )
    with pytest.raises(InvalidClaims, match="development only"):
        principal_from_claims(
            {"sub": "x", "roles": ["finance"], "region": "*"}, allow_wildcards=False
        )
    with pytest.raises(InvalidClaims, match="region"):
        principal_from_claims({"sub": "x", "roles": ["finance"]}, allow_wildcards=True)
    with pytest.raises(InvalidClaims, match="list"):
        principal_from_claims({"sub": "x", "roles": 3}, allow_wildcards=True)
