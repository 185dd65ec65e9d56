"""Schemathesis hooks: generated facts obey the two rules no JSON Schema can state.

Both rules relate a field to something outside it, which a schema cannot: a fact may not be
dated in the future (``occurred_in_future``: ``occurred_at`` later than now plus the clock
skew), and a medically caused wait does not end before it starts (``ends_on`` >=
``starts_on``). The OpenAPI document declares both on the 422 of ``POST /events[/batch]``
(api/contract.py). These hooks use schemathesis' documented extension point for data the
schema cannot describe (``map_body``, see https://schemathesis.readthedocs.io/en/stable/
guides/extending/) so that the facts it generates satisfy them; the checks stay strict,
``positive_data_acceptance`` included, and every other 422 on a schema-valid request fails.

A hook must not turn an invalid case valid (``negative_data_rejection`` would then fail on a
request the server rightly took), so it touches only values that already are what the schema
wants: an RFC 3339 instant moved into the past, two ``YYYY-MM-DD`` days swapped.

Loaded by ``tests/integration/test_fuzz_api.py`` (import) and by the plain CLI run
(``SCHEMATHESIS_HOOKS=tests.contracts.schemathesis_hooks``,
tests/contracts/test_schemathesis_cli.py).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import schemathesis

FACT_WRITES = frozenset({"/events", "/events/batch"})
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def in_the_past(fact: dict[str, Any], now: datetime) -> None:
    """A future ``occurred_at`` moved to the same moment of a year before ``now``'s."""
    when = _instant(fact.get("occurred_at"))
    if when is None or when <= now:
        return
    year = now.year - 1
    day = 28 if (when.month, when.day) == (2, 29) else when.day
    fact["occurred_at"] = when.replace(year=year, day=day).isoformat()


def wait_in_order(fact: dict[str, Any]) -> None:
    """A ``medically_caused_wait`` whose ``ends_on`` lies before ``starts_on``: swapped."""
    if fact.get("type") != "medically_caused_wait":
        return
    starts, ends = _day(fact.get("starts_on")), _day(fact.get("ends_on"))
    if starts is not None and ends is not None and ends < starts:
        fact["starts_on"], fact["ends_on"] = fact["ends_on"], fact["starts_on"]


def plausible(body: Any, now: datetime) -> Any:
    """``body`` of a fact write (one fact, or ``{"events": [...]}``) with each fact mended."""
    facts = body.get("events") if isinstance(body, dict) and "events" in body else [body]
    for fact in facts if isinstance(facts, list) else []:
        if isinstance(fact, dict):
            in_the_past(fact, now)
            wait_in_order(fact)
    return body


@schemathesis.hook
def map_body(ctx: Any, body: Any) -> Any:
    operation = getattr(ctx, "operation", None)
    if operation is None or operation.method.upper() != "POST" or operation.path not in FACT_WRITES:
        return body
    return plausible(body, datetime.now(UTC))
