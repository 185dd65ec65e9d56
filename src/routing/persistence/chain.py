"""The hash chain over the event log: each link hashes its predecessor and one stored event.

Why the plaintext and not the stored bytes: the stored state may be encrypted (a fresh
nonce each time) or compressed, and the chain must mean the same thing whichever cipher the
store uses. So a link covers the event as the application's mapper reads it back: its store
position, aggregate, version and topic, and its plaintext state exactly as the transcoder
wrote it (which holds the fact, its ``occurred_at`` and the server's ``recorded_at``).
Nothing ever rewrites that JSON (a key rotation re-encrypts the same bytes), so it is hashed
as it is: the writer hashes it once, when it maps the event (``ChainedStoredEvent``), instead
of decrypting and re-encoding what it has just encrypted.

A link also names the position of the link before it: the notification log may have gaps
(PostgreSQL's sequence skips numbers after a refused write), so "the previous position" is
recorded, and a row deleted together with its link is still found by its successor.

Pure: no I/O here; the recorders (``recorders.py``, ``pgrecorder.py``) keep the chain
in the same transaction as the events, and ``verify_chain`` judges what they read back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

GENESIS = "0" * 64
"""The predecessor digest of the first link."""

Plaintext = Callable[[bytes], bytes]
"""Turns a stored state into the transcoder's plain JSON (undoing cipher and compressor)."""


def identity(state: bytes) -> bytes:
    return state


def plaintext_of(mapper: Any) -> Plaintext:
    """The mapper's own steps before transcoding, in its order: decrypt, then decompress.

    Encryption at rest (a cipher on the mapper) drops in here unchanged."""
    cipher, compressor = getattr(mapper, "cipher", None), getattr(mapper, "compressor", None)
    if cipher is None and compressor is None:
        return identity

    def plaintext(state: bytes) -> bytes:
        if cipher is not None:
            state = cipher.decrypt(state)
        if compressor is not None:
            state = compressor.decompress(state)
        return state

    return plaintext


def sealed(
    mapper: Any, originator_id: UUID, originator_version: int, topic: str, plain: bytes
) -> ChainedStoredEvent:
    """A plaintext state in its stored form, as the mapper writes it (compress, then encrypt:
    the reverse of ``plaintext_of``), carrying the plaintext's digest for the chain."""
    state = plain
    if mapper.compressor:
        state = mapper.compressor.compress(state)
    if mapper.cipher:
        state = mapper.cipher.encrypt(state)
    return ChainedStoredEvent(
        originator_id=originator_id,
        originator_version=originator_version,
        topic=topic,
        state=state,
        content=content_digest(plain),
    )


class StoredRow(Protocol):
    """What a recorder stores and a notification reads back (the library's field names)."""

    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


@dataclass(frozen=True)
class ChainedStoredEvent(StoredEvent):
    """A stored event with the digest of its plaintext state, taken by the writer as it
    mapped the event (before compression and encryption)."""

    content: bytes = b""


def content_digest(plaintext: bytes) -> bytes:
    return hashlib.sha256(plaintext).digest()


def entry_digest(
    position: int, row: StoredRow, plaintext: Plaintext = identity, content: bytes = b""
) -> bytes:
    """What one link covers: the row's place and identity, and its plaintext's digest
    (``content``, when the writer already has it)."""
    head = orjson.dumps([position, str(row.originator_id), row.originator_version, row.topic])
    return hashlib.sha256(head + (content or content_digest(plaintext(row.state)))).digest()


def link_digest(previous: str, entry: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(previous) + entry).hexdigest()


@dataclass(frozen=True)
class Link:
    position: int
    previous_position: int  # 0 for the first link
    digest: str


def extend(
    head: Link | None, rows: Iterable[tuple[int, StoredRow]], plaintext: Plaintext = identity
) -> list[Link]:
    """The links for newly stored rows (ascending positions) after ``head``."""
    links: list[Link] = []
    prev_pos, prev_digest = (head.position, head.digest) if head else (0, GENESIS)
    for position, row in rows:
        content = row.content if isinstance(row, ChainedStoredEvent) else b""
        digest = link_digest(prev_digest, entry_digest(position, row, plaintext, content))
        links.append(Link(position, prev_pos, digest))
        prev_pos, prev_digest = position, digest
    return links


@dataclass(frozen=True)
class Finding:
    """One way the log and its chain disagree."""

    position: int
    kind: str  # edited | inserted | deleted | relinked
    detail: str


@dataclass
class ChainReport:
    checked: int = 0
    links: int = 0
    head: Link | None = None
    findings: list[Finding] | None = None

    @property
    def intact(self) -> bool:
        return not self.findings


def verify_chain(
    rows: Iterable[tuple[int, StoredRow]],
    links: Iterable[Link],
    plaintext: Plaintext = identity,
    *,
    max_findings: int = 1000,
) -> ChainReport:
    """Walks the event rows and the links together, both in ascending position.

    * a row without a link: a row was inserted behind the application's back;
    * a link without a row: a row was deleted;
    * a link whose digest is not the hash of its predecessor's stored digest and its row's
      entry digest: the row (or the link) was edited;
    * a link whose recorded predecessor is not the link before it: links were deleted or
      inserted too.
    Each link is checked against its stored predecessor, so one edit is reported once and
    does not make every later link look wrong.
    """
    report = ChainReport(findings=[])
    findings: list[Finding] = []
    prev: Link | None = None
    for position, row, link in _merge(rows, links):
        if link is None:
            report.checked += 1
            findings.append(Finding(position, "inserted", "stored event without a chain link"))
            continue
        report.links += 1
        if row is None:
            findings.append(Finding(position, "deleted", "chain link without a stored event"))
        else:
            report.checked += 1
            expected_prev = prev.position if prev else 0
            if link.previous_position != expected_prev:
                findings.append(
                    Finding(
                        position,
                        "relinked",
                        f"link names predecessor {link.previous_position}, "
                        f"the chain has {expected_prev} (a link was removed or added)",
                    )
                )
            before = prev.digest if prev else GENESIS
            if link_digest(before, entry_digest(position, row, plaintext)) != link.digest:
                findings.append(Finding(position, "edited", "event bytes do not match the chain"))
        prev = link
        if len(findings) >= max_findings:
            break
    report.head = prev
    report.findings = findings
    return report


def check_anchor(report: ChainReport, links: Iterable[Link], position: int, digest: str) -> None:
    """Adds a finding unless the chain still holds the link an auditor noted earlier (the
    head they anchored outside the database). Without an anchor, removing the newest rows
    together with their links cannot be told from a store that never had them."""
    found = next((k for k in links if k.position == position), None)
    findings = report.findings if report.findings is not None else []
    if found is None:
        findings.append(
            Finding(position, "truncated", "the anchored link is gone (rows were removed)")
        )
    elif found.digest != digest:
        findings.append(
            Finding(position, "rewritten", "the anchored link has another digest (history "
                    "up to it was rewritten)")
        )  # fmt: skip
    report.findings = findings


def _merge(
    rows: Iterable[tuple[int, StoredRow]], links: Iterable[Link]
) -> Iterator[tuple[int, StoredRow | None, Link | None]]:
    row_it, link_it = iter(rows), iter(links)
    row, link = next(row_it, None), next(link_it, None)
    while row is not None or link is not None:
        if link is None or (row is not None and row[0] < link.position):
            assert row is not None
            yield row[0], row[1], None
            row = next(row_it, None)
        elif row is None or link.position < row[0]:
            yield link.position, None, link
            link = next(link_it, None)
        else:
            yield row[0], row[1], link
            row, link = next(row_it, None), next(link_it, None)
