"""Correlation ids: one id follows a fact from the HTTP request (or inbound Kafka message)
through the store, the event topic and the projections' log lines.

The id comes from the caller (``X-Request-ID``, or the trace id of a W3C ``traceparent``) or
is generated. It is never a patient identifier: a caller's value is accepted only if it is
short, of plain characters and not shaped like a personnummer; otherwise a fresh id is used.

It travels with the stored fact without touching the domain or the application service: the
store's mapper (``MAPPER_TOPIC``, ``routing.persistence.mapper``) adds it to the stored
state of each fact event, the relay copies it into the CloudEvent (extension attribute
``correlationid``, Kafka header ``correlation-id``), and the projection runner logs it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from typing import Any, TypeVar

HEADER = "x-request-id"
KAFKA_HEADER = "correlation-id"
STATE_KEY = "correlation_id"

_ACCEPTABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
_PERSONNUMMER = re.compile(r"(?:19|20)?\d{6}[-+]?\d{4}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


@dataclass(frozen=True)
class Correlation:
    """The ids of one unit of work: a request, or a page of inbound messages recorded in one
    transaction (``by_event`` maps an event id to the id of the message that carried it)."""

    id: str
    by_event: dict[str, str] = field(default_factory=dict)

    def for_event(self, event_id: str) -> str:
        return self.by_event.get(event_id, self.id)


_current: ContextVar[Correlation | None] = ContextVar("routing_correlation", default=None)


def new_id() -> str:
    """32 random hex digits, the shape of a uuid4's hex and of a W3C trace id (a third of
    ``uuid4().hex``'s cost, paid on every request without an id of its own)."""
    return secrets.token_hex(16)


def accept(value: str | bytes | None) -> str | None:
    """The caller's id if it is safe to log and store, else None."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not _ACCEPTABLE.fullmatch(text) or _PERSONNUMMER.search(text.replace("-", "")):
        return None
    return text


def from_traceparent(value: str | bytes | None) -> str | None:
    """The trace id of a W3C traceparent header (``00-<trace id>-<span id>-<flags>``)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    match = _TRACEPARENT.fullmatch(text.strip().lower())
    return match.group(1) if match and match.group(1) != "0" * 32 else None


def from_headers(headers: Iterable[tuple[Any, Any]]) -> str | None:
    """X-Request-ID (or Kafka ``correlation-id``) first, then traceparent; names any case
    (ASGI gives them lower-cased bytes, Kafka as the producer wrote them)."""
    traceparent = None
    for name, value in headers:
        key = name.lower() if isinstance(name, bytes) else str(name).lower().encode()
        if key in _ID_HEADERS:
            accepted = accept(value)
            if accepted:
                return accepted
        elif key == b"traceparent":
            traceparent = from_traceparent(value)
    return traceparent


_ID_HEADERS = (HEADER.encode(), KAFKA_HEADER.encode())


def current() -> Correlation | None:
    return _current.get()


def current_id() -> str | None:
    c = _current.get()
    return c.id if c else None


def set_current(correlation: Correlation | None) -> Any:
    """Sets the id for this context; returns a token for :func:`reset`."""
    return _current.set(correlation)


def reset(token: Any) -> None:
    _current.reset(token)


R = TypeVar("R")


def run_with(
    correlation: Correlation | None, func: Callable[..., R], *args: Any
) -> Callable[[], R]:
    """``func(*args)`` to run on another thread (an executor does not carry context vars)
    under ``correlation``."""
    context = copy_context()
    context.run(_current.set, correlation)
    return lambda: context.run(func, *args)


def for_batch(items: Sequence[Any], ids: Sequence[str | None]) -> Correlation | None:
    """One Correlation for items recorded together, each keeping its own id (group commit)."""
    present = [i for i in ids if i]
    if not present:
        return None
    by_event = {
        str(item.event_id): cid
        for item, cid in zip(items, ids, strict=True)
        if cid and getattr(item, "event_id", None) is not None
    }
    return Correlation(present[0], by_event)
