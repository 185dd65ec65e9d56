"""The database side of a projection runner: exactly-once effects, in pure SQL (no Kafka).

Each page of messages from one partition is applied in one read-model transaction that also
stores the partition's next offset: a redelivery (after a crash between the database commit
and the Kafka offset commit, or a rebalance) finds its offsets already applied and skips them.

Offsets cannot recognise a fact the relay sent twice (it resends a page it could not record
as published, so the copy sits at a later offset): per partition the highest store position
applied is kept in the same transaction, and an interesting message at or below it is skipped.
Within a partition and an epoch, first sendings arrive in store order.

The relay epoch on each message tells whether the log is the one the read model was built
from. A higher epoch means the broker lost its log and the relay republished the store: the
read model is emptied and rebuilt from offset 0. A message whose offset lies beyond the stored
position is not applied: ``Applied.seek_to`` tells the consumer (``runner.py``) to seek back.

Kept apart from the consumer loop so tests, benchmarks and the store rebuild drive it directly.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TypeAlias

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from projections import base
from projections.base import Projection
from projections.db import Cursor, ReadModelDB
from routing.messaging.envelope import TYPE_PREFIX, decode
from routing.operations import resilience

log = logging.getLogger(__name__)

Record: TypeAlias = ConsumerRecord  # of bytes key and value


@dataclass(frozen=True)
class Applied:
    next_offset: int
    seek_to: int | None = None  # the consumer must continue from here instead
    first: int | None = None  # with seek_to: the first offset delivered, beyond the position


class ProjectionWorker:
    """The database side of a runner: pure SQL, no Kafka, so it can be driven directly."""

    def __init__(
        self, db: ReadModelDB, projection: Projection, topic: str, *, suffix: str = ""
    ) -> None:
        self.db, self.projection, self.topic, self.suffix = db, projection, topic, suffix
        self.key = projection.name + suffix
        self.applied = 0
        self.duplicates = 0  # resent facts recognised by their store position
        self.correlations: set[str] = set()  # of the facts applied by the last page
        self.page_applied = 0  # facts the last page applied
        with db.transaction() as cur:
            base.create_position_tables(cur)
            projection.create(cur, suffix)
            if suffix and base.reserved_generation(cur, self.key) is None:
                # A copy being rebuilt records its positions under the live name, in a
                # generation of its own, reserved here before its first position.
                base.write_epoch(cur, self.key, None, base.next_generation(cur, projection.name))

    @resilience.patiently  # a store restart: wait for it here, keeping the group membership
    def position(self, partition: int) -> int:
        with self.db.transaction() as cur:
            return self._position(cur, partition)

    def epoch(self) -> int | None:
        """The relay epoch the read model was built from (None: nothing applied yet)."""
        with self.db.transaction() as cur:
            return base.read_epoch(cur, self.key)

    @resilience.patiently  # one transaction: a page cut off by a restart is applied again
    def apply(self, partition: int, records: list[Record]) -> Applied:
        self.correlations, self.page_applied = set(), 0
        try:
            return self._apply(partition, records)
        except BaseException:
            self.projection.discard_cache()  # the transaction rolled back: so does memory
            raise

    def _apply(self, partition: int, records: list[Record]) -> Applied:
        with self.db.transaction() as cur:
            self.db.lock_partition(cur, self.key, partition)
            page = base.read_page_start(cur, self.key, self.projection.name, self.topic, partition)
            next_offset, epoch, seen = page.next_offset, page.epoch, page.store_position
            newer: int | None = None
            for record in records:
                if record.offset < next_offset:
                    # Already applied (a redelivery), unless the broker lost its log and the
                    # relay's republished one is still shorter than our position here.
                    if epoch is not None and (epoch_of(record) or 0) > epoch:
                        newer = epoch_of(record)
                        break
                    continue
                if record.offset > next_offset:
                    self._save(cur, partition, page, (next_offset, seen))
                    return Applied(next_offset, seek_to=next_offset, first=record.offset)
                epoch, newer, seen = self._apply_one(cur, record, epoch, seen)
                if newer is not None:
                    break  # this page's work is discarded by the reset below
                next_offset = record.offset + 1
            else:
                self._save(cur, partition, page, (next_offset, seen))
                return Applied(next_offset)
        assert newer is not None
        self.reset(newer)
        return Applied(0, seek_to=0)

    def _position(self, cur: Cursor, partition: int) -> int:
        generation = base.read_generation(cur, self.key)
        return base.read_position(cur, self.projection.name, self.topic, partition, generation)

    def _save(
        self, cur: Cursor, partition: int, page: base.PageStart, ends: tuple[int, int]
    ) -> None:
        """Flushes the page and records where it ends (``ends``: the next offset and the
        highest store position applied); a mark that did not move is not written again."""
        self.projection.flush(cur, self.suffix)
        next_offset, seen = ends
        if next_offset > page.next_offset:  # the library's tracking refuses an unmoved one
            name, generation = self.projection.name, page.generation
            base.write_position(cur, name, self.topic, partition, generation, next_offset)
        if seen != page.store_position:
            base.write_store_position(cur, self.key, self.topic, partition, seen)

    def _apply_one(
        self, cur: Cursor, record: Record, epoch: int | None, seen: int
    ) -> tuple[int | None, int | None, int]:
        """Applies one message. Returns the read model's epoch, a newer relay epoch if the log
        was replaced (then nothing was applied), and the highest store position applied."""
        kind = _type_header(record)
        if kind is not None and kind not in self.projection.interesting and epoch is not None:
            return epoch, None, seen  # cheap skip; epochs are checked on the messages that matter
        try:
            event = decode(record.value or b"")
        except ValidationError as exc:
            log.error("%s: undecodable message at offset %d: %s", self.key, record.offset, exc)
            return epoch, None, seen
        if epoch is None:
            epoch = event.relayepoch
            base.write_epoch(cur, self.key, epoch)
        elif event.relayepoch > epoch:
            return epoch, event.relayepoch, seen
        elif event.relayepoch < epoch:
            return epoch, None, seen  # from the log the relay has since replaced
        if event.event_type in self.projection.interesting:
            if event.storeposition <= seen:
                # Resent by a relay that crashed before recording the page: applied already.
                self.duplicates += 1
                return epoch, None, seen
            self.projection.apply(cur, event, self.suffix)
            self.applied += 1
            self.page_applied += 1
            if event.correlationid:
                self.correlations.add(event.correlationid)
            seen = event.storeposition
        return epoch, None, seen

    def reset(self, epoch: int) -> None:
        """Empties the read model and its positions; it is rebuilt from offset 0 of ``epoch``."""
        log.warning("%s: the relay republished the store (epoch %d); rebuilding", self.key, epoch)
        with self.db.transaction() as cur:
            self.projection.drop(cur, self.suffix)
            self.projection.create(cur, self.suffix)
            generation = base.next_generation(cur, self.projection.name)
            base.forget(cur, self.key)
            base.write_epoch(cur, self.key, epoch, generation)  # positions start again at 0


def epoch_of(record: Record) -> int | None:
    """Peeks at the CloudEvent's relay epoch without a full decode."""
    match = _EPOCH.search(record.value or b"")
    return int(match.group(1)) if match else None


_EPOCH = re.compile(rb'"relayepoch":(\d+)')


def _type_header(record: Record) -> str | None:
    """Peeks at the CloudEvent type without a full decode (a byte search in the JSON)."""
    value = record.value or b""
    start = value.find(b'"type":"' + TYPE_PREFIX.encode())
    if start < 0:
        return None
    start += len(b'"type":"') + len(TYPE_PREFIX)
    end = value.find(b'"', start)
    return value[start:end].decode() if end > start else None
