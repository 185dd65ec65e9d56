"""A decision's encoded inputs decode to the very facts encoded (hypothesis round trip).

The fast what-if re-decides the liability read model's ``inputs`` instead of the log; if the
encoding lost or bent a field (a time zone, an enum, an empty answer set, a missing optional)
its answer would drift from a replay's. So every ``ContactFacts`` the strategies can build
must come back equal, and an encoding of another version is refused, not misread.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.episodes.vocabulary import (
    AgeBand,
    AssessmentOutcome,
    CareLevel,
    ContactContent,
    ContactMode,
    Profession,
    Specialty,
)
from routing.liability.facts import AssessmentFact, ContactFacts, ReferralFact
from routing.liability.inputs import UnknownInputsError, decode, encode

text = st.text(min_size=1, max_size=12)
zones = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=2))])
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=zones
)


def _optional(s: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | s


assessments = st.builds(
    AssessmentFact,
    contact_id=_optional(text),
    criteria_set_id=text,
    criteria_version=text,
    owning_region=_optional(text),
    answered=st.frozensets(text, max_size=4),
    outcome=st.sampled_from(AssessmentOutcome),
    assessor_profession=st.sampled_from(Profession),
    assessor_licensed=st.booleans(),
    occurred_at=moments,
    recorded_at=_optional(moments),
)
referrals = st.builds(
    ReferralFact,
    referral_id=text,
    target_region=text,
    target_care_level=st.sampled_from(CareLevel),
    issued_at=moments,
    status=st.sampled_from(["issued", "accepted", "rejected"]),
    specialty=_optional(st.sampled_from(Specialty)),
)
facts = st.builds(
    ContactFacts,
    episode_id=text,
    contact_id=text,
    home_county=text,
    home_municipality=text,
    home_region_corrected=st.booleans(),
    care_region=text,
    care_level=st.sampled_from(CareLevel),
    provider_id=text,
    care_unit_id=text,
    requested_mode=st.sampled_from(ContactMode),
    status=st.sampled_from(["requested", "completed", "cancelled"]),
    mode=_optional(st.sampled_from(ContactMode)),
    profession=_optional(st.sampled_from(Profession)),
    content=_optional(st.sampled_from(ContactContent)),
    started_at=_optional(moments),
    started_recorded_at=_optional(moments),
    completed_at=_optional(moments),
    assessments=st.lists(assessments, max_size=3).map(tuple),
    referrals=st.lists(referrals, max_size=3).map(tuple),
    specialty=_optional(st.sampled_from(Specialty)),
    age_band=_optional(st.sampled_from(AgeBand)),
)


@given(facts)
def test_inputs_round_trip(f: ContactFacts) -> None:
    back = decode(encode(f), f.episode_id, f.contact_id)
    assert back == f
    assert [a.occurred_at.utcoffset() for a in back.assessments] == [
        a.occurred_at.utcoffset() for a in f.assessments
    ]


@pytest.mark.parametrize("text", ['[2,"01"]', "[]", "{}"])
def test_an_unknown_encoding_is_refused(text: str) -> None:
    with pytest.raises(UnknownInputsError):
        decode(text, "e", "c")
