"""The hash chain: kept with every write, cipher-independent, and it finds an edited, an
inserted and a deleted row (in memory here; on SQLite and PostgreSQL, by editing the
database directly, in tests/integration/test_audit_chain_stores.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eventsourcing.persistence import StoredEvent

from routing.audit.reading import FactReader
from routing.episodes.service import CareEpisodes
from routing.persistence.chain import (
    GENESIS,
    ChainedStoredEvent,
    Link,
    content_digest,
    entry_digest,
    extend,
    link_digest,
    plaintext_of,
    verify_chain,
)
from routing.persistence.chained import check_chain
from routing.persistence.recorders import ChainedPOPOProcessRecorder
from tests import support as f
from tests.audit_support import NONCE_CIPHER_ENV, record

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def _row(state: bytes, version: int = 1) -> StoredEvent:
    return StoredEvent("a1", version, "t:T", state)


def test_each_link_hashes_its_predecessor_and_its_entry() -> None:
    rows = [(1, _row(b'{"b": 1, "a": 2}')), (3, _row(b'{"x": []}', 2))]
    links = extend(None, rows)
    assert [k.previous_position for k in links] == [0, 1]
    assert links[0].digest == link_digest(GENESIS, entry_digest(1, rows[0][1]))
    assert links[1].digest == link_digest(links[0].digest, entry_digest(3, rows[1][1]))
    # Every byte of the plaintext counts, and so do the position, aggregate, version, topic.
    assert entry_digest(1, _row(b'{"b": 1, "a": 3}')) != entry_digest(1, rows[0][1])
    assert entry_digest(2, rows[0][1]) != entry_digest(1, rows[0][1]), "position counts"
    assert entry_digest(1, _row(b'{"b": 1, "a": 2}', 2)) != entry_digest(1, rows[0][1])
    assert entry_digest(1, StoredEvent("a2", 1, "t:T", b'{"b": 1, "a": 2}')) != entry_digest(
        1, rows[0][1]
    )
    assert entry_digest(1, StoredEvent("a1", 1, "t:U", b'{"b": 1, "a": 2}')) != entry_digest(
        1, rows[0][1]
    )
    assert verify_chain(rows, links).intact


def test_a_digest_taken_at_mapping_time_is_the_digest_verify_recomputes() -> None:
    """The writer hashes the plaintext before encrypting it; verify decrypts and hashes."""
    plain = b'{"fact": {"n": 1}}'
    sealed = ChainedStoredEvent("a1", 1, "t:T", plain[::-1], content=content_digest(plain))
    links = extend(None, [(7, sealed)])
    assert verify_chain([(7, sealed)], links, plaintext=lambda b: b[::-1]).intact
    assert not verify_chain([(7, sealed)], links).intact, "the sealed bytes are not the plaintext"


def test_verify_names_the_kind_of_each_tampering() -> None:
    rows = [(i, _row(f'{{"n": {i}}}'.encode(), i)) for i in (1, 2, 3, 5, 6)]
    links = extend(None, rows)
    edited = [rows[0], (2, _row(b'{"n": 20}', 2)), *rows[2:]]
    assert [(x.position, x.kind) for x in verify_chain(edited, links).findings or []] == [
        (2, "edited")
    ]
    inserted = [*rows[:3], (4, _row(b'{"n": 4}', 4)), *rows[3:]]
    assert [(x.position, x.kind) for x in verify_chain(inserted, links).findings or []] == [
        (4, "inserted")
    ]
    deleted = [r for r in rows if r[0] != 3]
    assert [(x.position, x.kind) for x in verify_chain(deleted, links).findings or []] == [
        (3, "deleted")
    ]
    # A row deleted together with its link is found by its successor.
    both = verify_chain(deleted, [k for k in links if k.position != 3])
    assert {(x.position, x.kind) for x in both.findings or []} == {(5, "relinked"), (5, "edited")}
    # A forged link (recomputed for an edited row) breaks the next one.
    forged = list(links)
    forged[1] = Link(2, 1, link_digest(links[0].digest, entry_digest(2, edited[1][1])))
    assert [(x.position, x.kind) for x in verify_chain(edited, forged).findings or []] == [
        (3, "edited")
    ]


def test_the_store_keeps_the_chain_with_every_write_and_finds_tampering() -> None:
    service = CareEpisodes(env=POPO)
    assert isinstance(service.recorder, ChainedPOPOProcessRecorder)
    record(service, f.typical_journey())
    record(service, f.typical_journey())
    report = check_chain(service.recorder)
    rows = service.recorder.max_notification_id()
    assert report.intact
    assert report.checked == report.links == rows == 44
    assert report.head is not None
    assert report.head.position == rows

    stored: list[StoredEvent] = service.recorder._stored_events  # the database, edited directly
    original = stored[4]
    stored[4] = replace(original, state=original.state.replace(b'"mode":"chat"', b'"mode":"video"'))
    assert original.state != stored[4].state
    findings = check_chain(service.recorder).findings or []
    assert [(x.position, x.kind) for x in findings] == [(5, "edited")]


def test_the_chain_does_not_depend_on_the_cipher() -> None:
    """Encryption at rest stores other bytes each time; the chain covers what the mapper reads
    back, so it verifies, and the audit reader decodes the same facts."""
    journey = f.typical_journey()
    plain, ciphered = CareEpisodes(env=POPO), CareEpisodes(env=NONCE_CIPHER_ENV)
    assert ciphered.mapper.cipher is not None
    for service in (plain, ciphered):
        record(service, journey)
        assert check_chain(service.recorder).intact
    p_rows: Any = plain.recorder.select_notifications(0, 100)
    c_rows: Any = ciphered.recorder.select_notifications(0, 100)
    assert p_rows[0].state != c_rows[0].state, "stored bytes differ"
    decode = plaintext_of(ciphered.mapper)
    assert b'"contact_requested"' in decode(c_rows[0].state)
    assert [s.fact for s in FactReader(ciphered).facts()] == [
        s.fact for s in FactReader(plain).facts()
    ]


def test_an_anchor_finds_the_newest_rows_removed_with_their_links() -> None:
    service = CareEpisodes(env=POPO)
    record(service, f.typical_journey())
    head = check_chain(service.recorder).head
    assert head is not None
    anchor = (head.position, head.digest)
    assert check_chain(service.recorder, anchor=anchor).intact
    recorder: ChainedPOPOProcessRecorder = service.recorder  # type: ignore[assignment]
    del recorder._stored_events[-2:]  # the database, edited directly: rows and links
    del recorder.chain[-2:]
    assert check_chain(service.recorder).intact, "undetectable without an anchor"
    findings = check_chain(service.recorder, anchor=anchor).findings or []
    assert [(x.position, x.kind) for x in findings] == [(head.position, "truncated")]
    forged = (head.position - 2, "0" * 64)
    findings = check_chain(service.recorder, anchor=forged).findings or []
    assert [(x.position, x.kind) for x in findings] == [(head.position - 2, "rewritten")]
