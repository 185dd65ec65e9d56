"""The binding rules, as properties: a front-end's facts land only in its own episodes."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.access import (
    ANY,
    Forbidden,
    Principal,
    Role,
    check_recording,
    may_read_region,
    ownership,
)
from routing.access.principal import InvalidClaims, principal_from_claims
from routing.episodes.events import EVENT_TYPES, parse_event
from routing.episodes.journey import EpisodeState
from tests import support as f
from tests.ownership_support import (
    FRONT_ENDS,
    HOLDER,
    JOINED,
    MAY_RECORD,
    OTHER_ROLES,
    RECEIVER,
    episode_bodies,
    front_end,
    variants,
)


def _episode() -> tuple[str, EpisodeState]:
    ep = str(uuid4())
    return ep, f.replay(episode_bodies(ep))


def test_the_matrix_covers_every_fact_type() -> None:
    covered = {variant.split()[0] for variant in MAY_RECORD}
    assert covered == set(EVENT_TYPES)
    assert set(variants("e", *HOLDER)) == set(MAY_RECORD)


def test_who_may_record_what_roles_by_providers_by_fact_types() -> None:
    ep, state = _episode()
    outcomes = {}
    for name, bound in FRONT_ENDS.items():
        for variant, body in variants(ep, *bound).items():
            try:
                check_recording(front_end(*bound), parse_event(body), state)
                outcomes[(name, variant)] = True
            except Forbidden:
                outcomes[(name, variant)] = False
        for role in OTHER_ROLES:  # no other role records facts at all
            for body in variants(ep, *bound).values():
                with pytest.raises(Forbidden, match="front_end"):
                    check_recording(Principal("x", frozenset({role})), parse_event(body), state)
    expected = {
        (name, variant): name in allowed
        for variant, allowed in MAY_RECORD.items()
        for name in FRONT_ENDS
    }
    wrong = sorted(k for k in expected if outcomes[k] != expected[k])
    assert wrong == []
    # the development wildcard is bound to every provider and region
    wildcard = front_end(ANY, ANY)
    for body in variants(ep, *HOLDER).values():
        check_recording(wildcard, parse_event(body), state)


# Who sees each recorded fact in the history: its owner (as above), and the front-ends of a
# referral's target region see that referral being issued.
SEES: dict[str, set[str]] = {
    "contact_requested c1": {"holder"},
    "contact_completed c1": {"holder"},
    "contact_requested c2": {"joined"},
    "triage_completed episode": {"holder"},
    "referral_issued r1": {"holder", "joined", "same_region_14"},
    "referral_accepted r1": {"holder", "joined", "same_region_14"},
    "referral_issued r2": {"holder", "receiver"},
    "treatment_decided r1": {"holder", "joined", "same_region_14"},
    "treatment_decided episode": {"holder"},
    "home_region_corrected episode": {"holder"},
}


def test_who_sees_what() -> None:
    _, state = _episode()
    facts = {
        "contact_requested c1": ("contact_requested", {"contact_id": "c1"}),
        "contact_completed c1": ("contact_completed", {"contact_id": "c1"}),
        "contact_requested c2": ("contact_requested", {"contact_id": "c2"}),
        "triage_completed episode": ("triage_completed", {"contact_id": None}),
        "referral_issued r1": ("referral_issued", {"referral_id": "r1"}),
        "referral_accepted r1": ("referral_accepted", {"referral_id": "r1"}),
        "referral_issued r2": ("referral_issued", {"referral_id": "r2"}),
        "treatment_decided r1": ("treatment_decided", {"referral_id": "r1"}),
        "treatment_decided episode": ("treatment_decided", {"referral_id": None}),
        "home_region_corrected episode": ("home_region_corrected", {}),
    }
    for key, (fact, data) in facts.items():
        seen = {
            n
            for n, b in FRONT_ENDS.items()
            if ownership.sees_fact(front_end(*b), state, fact, data)
        }
        assert seen == SEES[key], key
    parties = {n for n, b in FRONT_ENDS.items() if ownership.is_party(front_end(*b), state)}
    assert parties == {"holder", "joined", "receiver", "same_region_14"}
    joined = ownership.visible_state(front_end(*JOINED), state)
    assert (set(joined.contacts), set(joined.referrals), joined.treatments) == ({"c2"}, {"r1"}, {})
    held = ownership.visible_state(front_end(*HOLDER), state)
    assert (set(held.contacts), set(held.referrals)) == ({"c1"}, {"r1", "r2"})


def test_a_referral_not_yet_accepted_admits_nobody() -> None:
    ep, state = _episode()
    body = f.contact_requested(ep, "c9", provider_id=RECEIVER[0], care_region=RECEIVER[1])
    with pytest.raises(Forbidden, match="accepted"):
        check_recording(front_end(*RECEIVER), parse_event(body), state)
    state.apply(parse_event(f.referral_accepted(ep, "r2")))
    check_recording(front_end(*RECEIVER), parse_event(body), state)


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


def test_a_treatment_decided_on_a_referral_is_followed_up_by_the_referral_s_side() -> None:
    """C10: treatment t2 decided on accepted referral r1 (to region 14) is given and booked by
    region 14's side or the holder; a provider of another region may not record it."""
    ep = str(uuid4())
    state = f.replay([*episode_bodies(ep), f.treatment_decided(ep, "t2", referral_id="r1")])
    for fact in (f.treatment_given(ep, "t2"), f.appointment_booked(ep, treatment_id="t2")):
        for bound in (HOLDER, JOINED):
            check_recording(front_end(*bound), parse_event(fact), state)
        with pytest.raises(Forbidden):
            check_recording(front_end(*RECEIVER), parse_event(fact), state)
