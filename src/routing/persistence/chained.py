"""Which chain-keeping recorder a store gets, and reading the chain and the log back.

The verify side reads both through the recorder (its ``select_notifications`` and
``chain_links``), so it needs no SQL of its own per backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from eventsourcing.persistence import InfrastructureFactory, Notification, ProcessRecorder
from eventsourcing.utils import get_topic

from routing.persistence.chain import ChainReport, Link, Plaintext, check_anchor, verify_chain
from routing.persistence.recorders import ChainedPOPOProcessRecorder, ChainedSQLiteProcessRecorder

RECORDER_TOPIC = "PROCESS_RECORDER_TOPIC"


def chained_process_recorder(factory: InfrastructureFactory[Any]) -> ProcessRecorder:
    """The factory's process recorder, chain-keeping. PostgreSQL's is named by the settings
    (``routing.persistence.pgrecorder``); SQLite's is chosen here unless a test named another."""
    module = type(factory).__module__
    if module == "eventsourcing.popo":
        return ChainedPOPOProcessRecorder()
    if module == "eventsourcing.sqlite" and not factory.env.get(RECORDER_TOPIC):
        factory.env[RECORDER_TOPIC] = get_topic(ChainedSQLiteProcessRecorder)
    recorder: ProcessRecorder = factory.process_recorder()
    if not hasattr(recorder, "chain_links"):
        raise TypeError(f"{type(recorder).__name__} keeps no audit hash chain")
    return recorder


class ChainKeeping(Protocol):
    plaintext: Plaintext

    def chain_links(self, after: int, limit: int) -> list[Link]: ...

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Any = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Any: ...

    def max_notification_id(self) -> int | None: ...


def stored_rows(recorder: ChainKeeping, page: int = 5000) -> Iterator[tuple[int, Notification]]:
    """Every stored event in notification order (all topics: receipts are chained too)."""
    after = 0
    while True:
        rows = recorder.select_notifications(after, page, inclusive_of_start=False)
        if not rows:
            return
        for n in rows:
            yield n.id, n
        after = rows[-1].id


def links(recorder: ChainKeeping, page: int = 5000) -> Iterator[Link]:
    after = 0
    while True:
        batch = recorder.chain_links(after, page)
        if not batch:
            return
        yield from batch
        after = batch[-1].position


def check_chain(
    recorder: Any, *, max_findings: int = 1000, anchor: tuple[int, str] | None = None
) -> ChainReport:
    """Recomputes the chain from the stored events and compares it with the stored links;
    with ``anchor`` (position, digest of a head noted earlier) also that it is still there."""
    report = verify_chain(
        stored_rows(recorder), links(recorder), recorder.plaintext, max_findings=max_findings
    )
    if anchor is not None:
        position, digest = anchor
        check_anchor(report, recorder.chain_links(position - 1, 1), position, digest)
    return report
