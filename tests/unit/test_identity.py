"""Personnummer and samordningsnummer: validation and keyed pseudonyms (C8)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.episodes.events import event_examples, parse_event
from routing.identity import (
    InvalidIdentityNumber,
    Pseudonymiser,
    parse_identity_number,
    pseudonymising,
    redact_identity_numbers,
)
from routing.identity.personnummer import luhn_check_digit

TODAY = date(2026, 3, 2)
KEY = b"unit-test-pseudonym-key-0123456789"


def number(born: date, serial: int, coordination: bool = False) -> str:
    """A valid 12-digit number (synthetic: for tests only)."""
    day = born.day + (60 if coordination else 0)
    nine = f"{born:%y%m}{day:02d}{serial:03d}"
    return f"{born.year:04d}{nine[2:]}{luhn_check_digit(nine)}"


@pytest.mark.parametrize(
    ("raw", "digits", "coordination"),
    [
        ("19121212-1212", "191212121212", False),  # Skatteverket's example
        ("121212-1212", "201212121212", False),  # 10 digits: this century, so not yet born?
        ("121212+1212", "191212121212", False),  # '+': a hundred or older
        ("191212121212", "191212121212", False),
        ("19701063-2391", "197010632391", True),  # samordningsnummer: day 03 + 60
    ],
)
def test_valid_numbers_normalise(raw: str, digits: str, coordination: bool) -> None:
    parsed = parse_identity_number(raw, TODAY)
    assert parsed.digits == digits
    assert parsed.coordination is coordination
    assert digits not in repr(parsed)  # never printed, not even in a traceback


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("19121212-1213", "check digit"),
        ("19121312-1211", "date of birth"),  # month 13
        ("19120230-121", "date of birth"),  # 30 February (check digit added below)
        ("19701093-239", "date of birth"),  # coordination day 33
        ("20991212-1211", "future"),
        ("1912-12-12-1212", "shaped"),
    ],
)
def test_invalid_numbers_are_refused_without_echo(raw: str, fragment: str) -> None:
    if fragment == "future":
        raw = number(date(2099, 12, 12), 121)
    if len(raw) == 12 and "-" in raw:  # a right check digit, so that the date is what fails
        raw += str(luhn_check_digit(raw[2:8] + raw[9:]))
    with pytest.raises(InvalidIdentityNumber, match=fragment) as caught:
        parse_identity_number(raw, TODAY)
    assert raw not in str(caught.value)


def test_every_spelling_of_one_person_gets_one_pseudonym() -> None:
    p = Pseudonymiser(KEY)
    spellings = ["19811218-9876", "198112189876", "811218-9876", "8112189876"]
    assert len({p.pseudonym(s) for s in spellings}) == 1
    assert p.pseudonym("19811218-9876").startswith("psn_")
    other_key = Pseudonymiser(b"another-key-of-enough-length-0000")
    assert other_key.pseudonym("19811218-9876") != p.pseudonym("19811218-9876")
    with pytest.raises(ValueError, match="at least"):
        Pseudonymiser(b"short")


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    serial=st.integers(0, 999),
    coordination=st.booleans(),
)
def test_generated_numbers_validate_and_pseudonymise_stably(
    born: date, serial: int, coordination: bool
) -> None:
    raw = number(born, serial, coordination)
    parsed = parse_identity_number(raw, TODAY)
    assert parsed.coordination is coordination
    p = Pseudonymiser(KEY, today=lambda: TODAY)
    assert p.pseudonym(raw) == p.pseudonym(raw[:8] + "-" + raw[8:])
    wrong = raw[:-1] + str((int(raw[-1]) + 1) % 10)
    with pytest.raises(InvalidIdentityNumber):
        parse_identity_number(wrong, TODAY)


def test_events_take_the_pseudonym_at_the_edge_and_refuse_numbers_elsewhere() -> None:
    body = dict(event_examples()["contact_requested"], patient="19811218-9876")
    with pytest.raises(ValueError, match="never the number"):
        parse_event(body)  # no edge: a raw number must not get in
    p = Pseudonymiser(KEY)
    with pseudonymising(p):
        event = parse_event(body)
    assert event.patient == p.pseudonym("19811218-9876")  # type: ignore[attr-defined]
    with pseudonymising(p), pytest.raises(ValueError, match="check digit"):
        parse_event(dict(body, patient="19811218-9875"))


def test_redaction_of_free_text() -> None:
    p = Pseudonymiser(KEY)
    text = '{"patient": "19811218-9876", "unit": "SE2321000115-094882", "n": "811218-9875"}'
    out = p.redact(text)
    assert "19811218-9876" not in out
    assert p.pseudonym("19811218-9876") in out
    assert "SE2321000115-094882" in out  # an HSA-id's digits are nobody's number
    # a wrong check digit still points at a person (or a neighbour of one): masked
    assert "811218-9875" not in out
    assert '"n": "[redacted]"' in out
    assert "811218" not in redact_identity_numbers("pnr 8112189876!")
    assert redact_identity_numbers("id 2321000115") == "id 2321000115"
