"""The store's mapper: the library's, plus the correlation id beside each fact and the
plaintext digest the hash chain needs (moved from ``operations/correlation.py``, unchanged)."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from routing.operations.correlation import STATE_KEY, current
from routing.persistence.chain import sealed


class CorrelatingMapper(Mapper[Any]):
    """The library's mapper, adding the current correlation id to the stored state of each
    fact (events carrying ``fact``). Cipher and compressor work as before: the id is added
    before they run, so it is encrypted along with the fact.

    It also hands the hash chain the digest of the plaintext state (``ChainedStoredEvent``),
    so that the recorder does not decrypt and re-read what was just written."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = dict(vars(domain_event))
        correlation = current()
        fact = state.get("fact")
        if correlation is not None and isinstance(fact, dict):
            state[STATE_KEY] = correlation.for_event(str(fact.get("event_id")))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        plain = self.transcoder.encode(state)
        return sealed(self, originator_id, originator_version, get_topic(type(domain_event)), plain)
