"""What no string the system takes in may hold, wherever it stands: the screen both edges
(HTTP bodies, query and path parameters, inbound Kafka facts) run on every string.

* a personnummer or samordningsnummer (C8): only ``patient`` may carry one, and the edge
  replaces it by its pseudonym before anything else sees it; anywhere else it would reach the
  store, the event topic and the read models in plain text;
* a decimal digit outside ASCII 0-9: ids, codes and numbers are ASCII; a fullwidth or
  Arabic-Indic digit makes a second spelling of the same id (or of a person);
* NUL: PostgreSQL text cannot hold it, and no id or free text needs it.

Pure: the caller says where the string stood, this says what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from routing.identity.personnummer import (
    has_foreign_digits,
    holds_identity_number,
    looks_like_identity_number,
)

IDENTITY_NUMBER = (
    "holds a personnummer or samordningsnummer; only `patient` may carry one (it is replaced "
    "by its pseudonym), anywhere else send no identity number"
)
FOREIGN_DIGITS = "holds digits other than ASCII 0-9"
NUL = "holds a NUL character"


_SIX_DIGITS = re.compile(r"[0-9]{6}")  # on ASCII text only


def _foreign_bmp_digits() -> str:
    """The decimal digits of the Basic Multilingual Plane outside ASCII, as ``\\uXXXX``
    ranges of a character class."""
    ranges: list[list[int]] = []
    for code in range(0x80, 0x10000):
        if chr(code).isdecimal():
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"\\u{a:04X}-\\u{b:04X}" for a, b in ranges)


TEXT_PATTERN = f"^(?:[0-9]|[^\\x00\\d{_foreign_bmp_digits()}])*$"
"""What the screen admits of a free-text field (a version, a criterion, an algorithm's name, a
reason), as far as a pattern can say it: no NUL, and no decimal digit but ASCII 0-9. Published
on those fields so that the schema admits what the server does (a NUL in a routing question's
criterion was a 422 the schema did not announce). ``\\d`` is every Unicode decimal digit to
Python's and Rust's regex engines (pydantic, schemathesis, jsonschema); the explicit ranges
say the same of the Basic Multilingual Plane to ECMA-262 readers, whose ``\\d`` is ASCII only.
An identity number in free text is refused too, which no pattern can state (its date and
check digit): docs/contracts.md."""


def plainly_clean(text: str) -> bool:
    """True when ``refusal`` has nothing to look at: ASCII text without NUL and without six
    digits in a row. Removing parts of such a text (ids, digests) keeps it so, which is what
    lets the edge pass most paths in one check (api/params.py)."""
    return text.isascii() and "\x00" not in text and _SIX_DIGITS.search(text) is None


def refusal(text: str, today: date | None = None, *, pseudonym: bool = False) -> str | None:
    """Why ``text`` must not be taken in, or None. Never repeats the text. ``pseudonym``: the
    value may be a hex pseudonym, so only a number standing apart from letters counts."""
    if "\x00" in text:
        return NUL
    if text.isascii():
        if plainly_clean(text):  # most strings: one scan, then done
            return None
    elif has_foreign_digits(text):
        return FOREIGN_DIGITS
    if _UUID_TEXT.fullmatch(text):
        return _uuid_refusal(text, today or date.today())
    if holds_identity_number(text, today or date.today(), glued=not pseudonym):
        return IDENTITY_NUMBER
    return None


_HEX = "[0-9a-fA-F]"
_UUID_TEXT = re.compile(f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}")


def _uuid_refusal(text: str, today: date) -> str | None:
    """A UUID-shaped id (a client's own ``contact_id``, say) is hex: a random one holds a
    date-shaped run of ten digits glued to its letters about once in 700, so only the two
    places where a whole number can stand in it count: the first two groups as
    ``YYYYMMDD-NNNN`` and the last group as twelve digits."""
    groups = text.split("-")
    for candidate in (f"{groups[0]}-{groups[1]}", groups[4]):
        if holds_identity_number(candidate, today, glued=False):
            return IDENTITY_NUMBER
    return None


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a parsed value (models, lists, dicts, keys included) with its path
    below ``value``: ``('triaged_by.algorithm', ...)``, ``('answered_criteria[2]', ...)``."""
    if isinstance(value, Enum):
        return  # a member of a fixed vocabulary
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from strings(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from strings(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key, path)
            yield from strings(item, f"{path}.{key}" if path else str(key))


def first_refusal(value: Any, *, pseudonym: bool = False) -> tuple[str, str] | None:
    """The first string in ``value`` that must not be taken in: (its path, why)."""
    if value.__class__ is str:
        why = refusal(value, pseudonym=pseudonym)
        return None if why is None else ("", why)
    if not isinstance(value, BaseModel | list | tuple | dict):
        return None  # ids, times, numbers, vocabulary (enums): nothing to screen
    for path, text in strings(value):
        if (why := refusal(text)) is not None:
            return path, why
    return None


Loc = tuple[str | int, ...]


def raw_refusals(
    value: Any, loc: Loc = (), *, pseudonym: bool = False
) -> Iterator[tuple[Loc, str]]:
    """Every string in a raw JSON value (as a client sent it, before parsing) that must not be
    taken in, with its location: ``(('triaged_by', 'algorithm'), why)``."""
    if isinstance(value, str):
        if (why := refusal(value, pseudonym=pseudonym)) is not None:
            yield loc, why
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (why := refusal(key)) is not None:
                yield loc, why
            yield from raw_refusals(item, (*loc, str(key)), pseudonym=pseudonym)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from raw_refusals(item, (*loc, i), pseudonym=pseudonym)


def refuse_raw(
    title: str, data: Any, skip: frozenset[str] = frozenset(), patient: str | None = None
) -> Any:
    """For a model's ``mode="before"`` validator: ``data`` unchanged, or a ValidationError
    naming every field (but ``skip``) that holds what must not be taken in. The field named
    ``patient`` may be an identity number as a whole (its own validator replaces it by the
    pseudonym); otherwise it is checked as a pseudonym would be."""
    if not isinstance(data, dict):
        return data
    if _flat_and_clean(data, skip):
        return data  # most facts: one check over all their strings
    errors = []
    for name, value in data.items():
        if name in skip or value is None or value.__class__ in (bool, int, float):
            continue
        if value.__class__ is str and refusal(value) is None:
            continue  # the common case, without a walk
        is_patient = name == patient
        if is_patient and isinstance(value, str) and looks_like_identity_number(value):
            continue
        errors += [
            InitErrorDetails(type=PydanticCustomError("value_error", why), loc=loc, input="")
            for loc, why in raw_refusals(value, (str(name),), pseudonym=is_patient)
        ]
    if errors:
        raise ValidationError.from_exception_data(title, errors)
    return data


def _flat_and_clean(data: dict[str, Any], skip: frozenset[str]) -> bool:
    """Whether no string anywhere in ``data`` (but the ``skip`` fields) is refused, checked
    in one pass over all of them joined (the separator keeps every run apart); when this
    finds something, the caller walks field by field to name it."""
    plain: list[str] = []
    stack: list[Any] = [v for k, v in data.items() if k not in skip]
    while stack:
        value = stack.pop()
        if value.__class__ is str:
            plain.append(value)
        elif isinstance(value, dict):
            plain.extend(k for k in value if isinstance(k, str))
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return refusal("\x1f".join(plain)) is None


def unparsed_uuids(model: type[BaseModel]) -> frozenset[str]:
    """The UUID fields of ``model``, which the screen leaves to their parser: a random UUID's
    hex digits hold a date-shaped run of ten or twelve digits about once in 7,000 ids, and a
    string that is no UUID is refused by its parser anyway."""
    if model not in _UUIDS:
        _UUIDS[model] = frozenset(
            n for n, f in model.model_fields.items() if _is_uuid(f.annotation)
        )
    return _UUIDS[model]


_UUIDS: dict[type[BaseModel], frozenset[str]] = {}


def _is_uuid(annotation: Any) -> bool:
    """A field typed ``UUID`` or ``UUID | None``: an optional id is as random as a required one."""
    if annotation is UUID:
        return True
    optional = get_origin(annotation) in (Union, UnionType)
    return optional and set(get_args(annotation)) == {UUID, NoneType}
