"""The committed JSON Schemas (schemas/events/) are what the models accept.

Front-ends validate against the published files, so a file that drifts from the models would
let a client build bodies the API refuses (or the reverse). Regenerate them with
``routing.episodes.schemas.write_schemas()`` after changing an event model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from routing.episodes.events import EVENT_TYPES, parse_event
from routing.episodes.schemas import SCHEMA_DIR, drifted, event_schemas
from tests import support as f
from tests.support import DROP

TYPES = sorted(EVENT_TYPES)


def committed(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.json").read_text("utf-8"))
    return schema


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(committed(name), format_checker=FormatChecker())


def test_committed_schemas_match_the_models() -> None:
    assert drifted() == [], "run routing.episodes.schemas.write_schemas() and commit the files"


def test_one_committed_file_per_event_type() -> None:
    assert sorted(p.stem for p in SCHEMA_DIR.glob("*.json")) == TYPES
    assert len(TYPES) == 25  # 17 + the 8 care-guarantee facts (issue 17)


@pytest.mark.parametrize("name", TYPES)
def test_committed_schema_is_a_valid_2020_12_schema(name: str) -> None:
    schema = committed(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:routing:event:{name}:v1"
    assert schema["properties"]["type"]["const"] == name
    assert schema["additionalProperties"] is False
    assert "recorded_at" not in schema["properties"]
    assert {"event_id", "episode_id", "occurred_at", "source"} <= set(schema["required"])


@pytest.mark.parametrize("name", TYPES)
def test_schema_accepts_a_factory_body(name: str) -> None:
    body = f.FACTORIES[name]()
    parse_event(body)  # the model accepts it ...
    errors = [e.message for e in validator(name).iter_errors(body)]
    assert errors == []  # ... and so does the published schema


@pytest.mark.parametrize("name", TYPES)
def test_schema_refuses_an_unknown_field(name: str) -> None:
    errors = list(validator(name).iter_errors(f.FACTORIES[name](priority="high")))
    assert len(errors) == 1
    assert errors[0].validator == "additionalProperties"
    assert "priority" in errors[0].message


@pytest.mark.parametrize("name", TYPES)
def test_schema_refuses_recorded_at_and_a_missing_event_id(name: str) -> None:
    v = validator(name)
    assert not v.is_valid(f.FACTORIES[name](recorded_at="2025-10-06T09:00:00+02:00"))
    errors = list(v.iter_errors(f.FACTORIES[name](event_id=DROP)))
    assert [(e.validator, "event_id" in e.message) for e in errors] == [("required", True)]


@pytest.mark.parametrize("name", TYPES)
def test_schema_refuses_another_type(name: str) -> None:
    other = "triage_completed" if name != "triage_completed" else "contact_requested"
    assert not validator(name).is_valid({**f.FACTORIES[name](), "type": other})


@pytest.mark.parametrize(
    ("name", "overrides", "path"),
    [
        ("contact_requested", {"care_region": "4"}, ["care_region"]),
        ("contact_requested", {"patient": "ab"}, ["patient"]),
        ("contact_requested", {"provider_id": "kry"}, ["provider_id"]),
        ("contact_requested", {"home_region": {"county": "14"}}, ["home_region"]),
        ("distance_contact_offered", {"modes": []}, ["modes"]),
        ("contact_started", {"mode": "telepathy"}, ["mode"]),
        ("referral_rejected", {"reason": ""}, ["reason"]),
        (
            "need_and_suitability_assessed",
            {"outcome": "physical_required", "failed_principles": ["grumpy"]},
            ["failed_principles", 0],
        ),
    ],
)
def test_schema_and_model_agree_on_refusals(
    name: str, overrides: dict[str, Any], path: list[Any]
) -> None:
    body = f.FACTORIES[name](**overrides)
    with pytest.raises(ValueError, match="validation error"):
        parse_event(body)
    errors = list(validator(name).iter_errors(body))
    assert [list(e.absolute_path) for e in errors] == [path]


def test_drift_is_detected(tmp_path: Path) -> None:
    """The drift check itself can fail: an edited, a missing and an extra file are all named."""
    shutil.copytree(SCHEMA_DIR, tmp_path, dirs_exist_ok=True)
    assert drifted(tmp_path) == []
    edited = tmp_path / "offer_accepted.json"
    schema = json.loads(edited.read_text("utf-8"))
    schema["properties"]["mode"]["description"] = "changed by hand"
    edited.write_text(json.dumps(schema, indent=2), "utf-8")
    (tmp_path / "referral_accepted.json").unlink()
    (tmp_path / "referral_withdrawn.json").write_text("{}", "utf-8")
    assert drifted(tmp_path) == ["offer_accepted", "referral_accepted", "referral_withdrawn"]


def test_schemas_are_served_as_committed() -> None:
    served = event_schemas()
    assert sorted(served) == TYPES
    for name in TYPES:
        assert served[name] == committed(name)


@pytest.mark.parametrize(
    "name",
    ["appointment_booked", "limit_notice_given", "medically_caused_wait", "care_declined",
     "care_requested_again", "other_region_chosen"],
)  # fmt: skip
def test_exactly_one_subject_is_published(name: str) -> None:
    """A 90-day clock fact names exactly one of referral_id and treatment_id: the model
    refuses both and neither, and so does the published schema (a null counts as absent)."""
    ids_ = ("referral_id", "treatment_id")
    body = {k: v for k, v in f.FACTORIES[name]().items() if k not in ids_}
    for ids, accepted in (
        ({"referral_id": "r1"}, True),
        ({"referral_id": None, "treatment_id": "t1"}, True),
        ({"referral_id": "r1", "treatment_id": "t1"}, False),
        ({}, False),
        ({"referral_id": None, "treatment_id": None}, False),
    ):
        candidate = {**body, **ids}
        assert validator(name).is_valid(candidate) is accepted, ids
        if accepted:
            parse_event(candidate)
        else:
            with pytest.raises(ValueError, match="exactly one"):
                parse_event(candidate)
