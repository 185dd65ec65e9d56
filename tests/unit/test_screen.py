"""Issue 16 items 3 and 4, at the models: no string of a fact holds an identity number
outside ``patient``, a digit other than ASCII 0-9, or NUL; an identity number in any script's
digits is one person, one pseudonym. (The HTTP and Kafka edges: tests/integration/
test_identifier_scan.py.)"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from api.errors import field_path
from routing.decisions.question import RoutingQuestion
from routing.episodes.events import parse_event
from routing.identity import Pseudonymiser, pseudonymising
from routing.identity.screen import refusal
from tests import support as f

KEY = b"unit-test-pseudonym-key-0123456789"
NUMBER = "19121212-1212"  # Skatteverket's example number


def _script(zero: int) -> dict[int, str]:
    """ASCII digits to the digits of the script whose zero is code point ``zero``."""
    return str.maketrans("0123456789", "".join(chr(zero + i) for i in range(10)))


FULLWIDTH = _script(0xFF10)
ARABIC_INDIC = _script(0x0660)
DEVANAGARI = _script(0x0966)


def _refused(body: dict[str, Any]) -> tuple[str, str]:
    with pseudonymising(Pseudonymiser(KEY)), pytest.raises(ValidationError) as caught:
        parse_event(body)
    err = caught.value.errors()[0]
    return field_path(err["loc"]), str(err["msg"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (f.contact_requested(contact_id=NUMBER), "contact_id"),
        (f.contact_requested(contact_id="c191212121212"), "contact_id"),  # glued
        (f.contact_requested(source="kry-191212121212"), "source"),
        (f.referral_rejected(occurred_at="191212121212"), "occurred_at"),  # not a Unix time
        (
            f.triage_completed(
                triaged_by={"kind": "algorithm", "algorithm": "x 121212-1212", "version": "1"}
            ),
            "triaged_by.algorithm",
        ),
        (
            f.need_and_suitability_assessed(answered_criteria=["p1", "191212121212"]),
            "answered_criteria[1]",
        ),
        (f.referral_rejected(reason=f"patient {NUMBER} declined"), "reason"),
        (f.referral_rejected(reason="19121212-1213 (wrong check digit)"), "reason"),
        (f.triage_completed(triaged_by={"kind": NUMBER}), "triaged_by.kind"),  # not echoed
    ],
)
def test_an_identity_number_outside_patient_is_refused(body: dict[str, Any], field: str) -> None:
    where, message = _refused(body)
    assert where == field
    assert "personnummer" in message
    assert NUMBER not in message  # never echoed
    assert "1212121212" not in message


@pytest.mark.parametrize("script", [FULLWIDTH, ARABIC_INDIC, DEVANAGARI])
def test_digits_of_any_script_give_the_ascii_pseudonym(script: dict[int, str]) -> None:
    p = Pseudonymiser(KEY, today=lambda: date(2026, 3, 2))
    ascii_form = p.pseudonym(NUMBER)
    assert p.pseudonym(NUMBER.translate(script)) == ascii_form
    with pseudonymising(p):
        event = parse_event(f.contact_requested(patient=NUMBER.translate(script)))
    assert event.patient == ascii_form  # type: ignore[attr-defined]


@pytest.mark.parametrize("script", [FULLWIDTH, ARABIC_INDIC])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("care_unit_id", "SE2321000115-094882"),
        ("provider_id", "SE2321000032-000001"),
        ("listed_unit_id", "SE2321000131-E000000000112"),
        ("home_region", {"county": "14", "municipality": "1480"}),
        ("contact_id", "contact-01"),
    ],
)
def test_hsa_ids_and_codes_take_ascii_digits_only(
    script: dict[int, str], field: str, value: Any
) -> None:
    expected = field
    if isinstance(value, dict):  # only the municipality's last digits in another script
        expected = "home_region.municipality"
        value = {**value, "municipality": value["municipality"][:2] + "80".translate(script)}
    elif value.startswith("SE"):  # the ten digits the pattern's \d stands for
        value = value[:2] + value[2:12].translate(script) + value[12:]
    else:
        value = value[:3] + value[3:].translate(script)
    where, message = _refused(f.contact_requested(**{field: value}))
    assert where == expected, message


def test_nul_is_refused_in_free_text() -> None:
    where, message = _refused(f.referral_rejected(reason="a\x00b"))
    assert (where, message) == ("reason", "holds a NUL character")


def test_what_is_no_number_passes() -> None:
    """HSA-ids, organisation numbers, hex pseudonyms and ordinary text are nobody's number."""
    assert refusal("SE2321000115-094882") is None
    assert refusal("5560360793") is None  # an organisation number: its "month" is 20 or more
    assert refusal("psn_8a5701636428a73c", pseudonym=True) is None  # hex with a date by chance
    assert refusal("kan handläggas i primärvården") is None
    with pseudonymising(Pseudonymiser(KEY)):
        parse_event(f.contact_requested(patient="psn_8a5701636428a73c"))


def test_an_optional_uuid_is_read_not_screened() -> None:
    """An id typed ``UUID | None`` is left to its parser like a required one: a routing
    question about an episode whose id's digits spell a number is not refused."""
    episode = "19121212-1212-4abc-8abc-0123456789ab"
    assert refusal(episode) is not None  # the raw text does read as a number
    question = RoutingQuestion.model_validate(
        {
            "request_id": "6f1c1d0e-8a43-4d1b-9a55-3f0d2c1b7e10",
            "planned_start": "2026-01-01T10:00:00+01:00",
            "episode_id": episode,
            "home_region": {"county": "14", "municipality": "1480"},
            "requested_mode": "chat",
            "profession": "doctor",
            "patient_prefers_physical": False,
            "can_use_digital_tools": True,
        }
    )
    assert str(question.episode_id) == episode


def test_a_uuid_shaped_id_counts_only_a_whole_number() -> None:
    """A client's UUID-shaped ``contact_id`` is refused only where a whole number stands in it
    (first two groups, or the last group); a run glued to hex letters, or a twelve-digit run
    of a century no one alive was born in, is read as the id it is."""
    assert refusal("19121212-1212-4abc-8abc-0123456789ab") is not None
    assert refusal("0a1b2c3d-4e5f-4abc-8abc-191212121212") is not None
    assert refusal("b527253d-3f2a-4243-ba2a-9203211956e3") is None  # glued: 920321-1956
    assert refusal("15020184-2685-489a-8e5d-f53e196014d7") is None  # year 1502
    assert refusal("a51301f2-53cc-4b9a-91eb-350606058368") is None  # year 3506
    assert refusal("c191212121212") is not None  # outside a UUID, glued still counts
