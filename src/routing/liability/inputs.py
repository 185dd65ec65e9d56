"""A decision's inputs, encoded compactly so the decision can be re-made from its row alone.

The liability read model keeps, next to each contact's current decision, everything ``decide``
reads about the contact (``ContactFacts``: regions, dates, profession, mode, assessments,
referrals); the rulebook policy and the reference data are the what-if's question and the
catalogue in force. A what-if then re-decides these rows instead of replaying the whole log
(routing.audit.whatif). The encoding is a JSON array headed by its version, so a later shape
can be told apart and an unknown one refused rather than misread; the episode and contact ids
are the row's own key columns and are not repeated.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import orjson

from routing.episodes.vocabulary import (
    AgeBand,
    AssessmentOutcome,
    CareLevel,
    ContactContent,
    ContactMode,
    Profession,
    Specialty,
)
from routing.kernel.calendar import swedish_date
from routing.liability.facts import AssessmentFact, ContactFacts, ReferralFact

VERSION = 1


def _members(kind: type[Enum]) -> dict[Any, Any]:
    """Value -> member, with None -> None: a dict lookup, not ``Enum(value)`` (several times
    faster, and a what-if decodes every decision in its scope)."""
    return {None: None} | {m.value: m for m in kind}


_CARE, _MODE, _PROFESSION = _members(CareLevel), _members(ContactMode), _members(Profession)
_CONTENT, _SPECIALTY, _AGE = _members(ContactContent), _members(Specialty), _members(AgeBand)
_OUTCOME = _members(AssessmentOutcome)


class UnknownInputsError(ValueError):
    """Inputs in an encoding this code does not know (the what-if falls back to the log)."""


def _t(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _v(value: Any) -> Any:
    return value.value if value is not None else None


def encode(f: ContactFacts) -> str:
    """Compact JSON: positional fields, enums by value, times as ISO strings with offset."""
    body: list[Any] = [
        VERSION, f.home_county, f.home_municipality, f.home_region_corrected, f.care_region,
        f.care_level.value, f.provider_id, f.care_unit_id, f.requested_mode.value, f.status,
        _v(f.mode), _v(f.profession), _v(f.content), _t(f.started_at),
        _t(f.started_recorded_at), _t(f.completed_at),
        [[a.contact_id, a.criteria_set_id, a.criteria_version, a.owning_region,
          sorted(a.answered), a.outcome.value, a.assessor_profession.value, a.assessor_licensed,
          _t(a.occurred_at), _t(a.recorded_at)] for a in f.assessments],
        [[r.referral_id, r.target_region, r.target_care_level.value, _t(r.issued_at), r.status,
          _v(r.specialty)] for r in f.referrals],
        _v(f.specialty), _v(f.age_band),
    ]  # fmt: skip
    return orjson.dumps(body).decode()


def parse(text: str) -> list[Any]:
    """The encoded array, its version checked (``build`` makes the facts of it)."""
    body = orjson.loads(text)
    if not isinstance(body, list) or not body or body[0] != VERSION:
        raise UnknownInputsError(f"unknown inputs encoding: {text[:40]!r}")
    return body


def decode(text: str, episode_id: str, contact_id: str) -> ContactFacts:
    """The ``ContactFacts`` ``encode`` was given (equal, field for field)."""
    return build(parse(text), episode_id, contact_id)


def build(body: list[Any], episode_id: str, contact_id: str) -> ContactFacts:
    (_, home, municipality, corrected, care, level, provider, unit, requested, status, mode,
     profession, content, started, started_recorded, completed, assessments, referrals,
     specialty, age_band) = body  # fmt: skip
    return ContactFacts(
        episode_id=episode_id, contact_id=contact_id, home_county=home,
        home_municipality=municipality, home_region_corrected=corrected, care_region=care,
        care_level=_CARE[level], provider_id=provider, care_unit_id=unit,
        requested_mode=_MODE[requested], status=status, mode=_MODE[mode],
        profession=_PROFESSION[profession], content=_CONTENT[content],
        started_at=_at(started), started_recorded_at=_at(started_recorded),
        completed_at=_at(completed),
        assessments=tuple(_assessment(a) for a in assessments),
        referrals=tuple(_referral(r) for r in referrals),
        specialty=_SPECIALTY[specialty], age_band=_AGE[age_band],
    )  # fmt: skip


def _assessment(a: list[Any]) -> AssessmentFact:
    occurred = _at(a[8])
    assert occurred is not None
    return AssessmentFact(
        contact_id=a[0], criteria_set_id=a[1], criteria_version=a[2], owning_region=a[3],
        answered=frozenset(a[4]), outcome=_OUTCOME[a[5]],
        assessor_profession=_PROFESSION[a[6]], assessor_licensed=a[7], occurred_at=occurred,
        recorded_at=_at(a[9]),
    )  # fmt: skip


def _referral(r: list[Any]) -> ReferralFact:
    issued = _at(r[3])
    assert issued is not None
    return ReferralFact(
        referral_id=r[0], target_region=r[1], target_care_level=_CARE[r[2]],
        issued_at=issued, status=r[4], specialty=_SPECIALTY[r[5]],
    )  # fmt: skip


def whatif_key(f: ContactFacts) -> tuple[str, str | None, str]:
    """What a what-if classes this decision by, stored beside its inputs: (key, contact day,
    assessment days).

    The key is everything of the inputs that can change the decision's outcome under any
    policy (routing.audit.whatif), without days: the regions, care level, status, mode,
    profession, content, specialty and age band; of each assessment whether it preceded the
    contact, its criteria, answers, outcome and assessor; of each referral its target, care
    level, status, specialty and whether it was issued by the contact's start. Ids,
    municipality, provider, unit, clock times and recording times are left out: they shape the
    trace, not who pays. The days (the contact's Swedish start day; each assessment's Swedish
    day, comma-separated in the key's order) are kept apart: which dated change (reference
    data, a policy's Ds 2023:27 date) a day falls after is the what-if's question, and a key
    without them is shared by many contacts, so it is parsed once.
    ``("", None, "")``: a contact no what-if decides (not completed, or never started).
    """
    start = f.started_at
    if f.status != "completed" or start is None:
        return "", None, ""
    assessments = [
        [a.occurred_at < start, a.criteria_set_id, a.criteria_version, sorted(a.answered),
         a.outcome.value, a.assessor_profession.value, a.assessor_licensed]
        for a in f.assessments
    ]  # fmt: skip
    referrals = [
        [r.target_region, r.target_care_level.value, r.status, r.issued_at <= start,
         _v(r.specialty)]
        for r in f.referrals
    ]  # fmt: skip
    key = [
        f.home_county, f.care_region, f.care_level.value, f.status, _v(f.mode),
        _v(f.profession), _v(f.content), _v(f.specialty), _v(f.age_band), assessments, referrals,
    ]  # fmt: skip
    days = ",".join(swedish_date(a.occurred_at).isoformat() for a in f.assessments)
    return orjson.dumps(key).decode(), swedish_date(start).isoformat(), days
