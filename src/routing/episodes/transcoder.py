"""Encodes stored events with orjson, in exactly the library's JSON format.

The library's JSONTranscoder writes non-JSON values (datetimes, UUIDs) as
``{"_type_": ..., "_data_": ...}`` objects via a ``default`` hook. orjson would write datetimes
and UUIDs natively, as plain strings, which the decoder could not tell from strings; so every
such value is routed through the same hook (passthrough options, and a UUID check), keeping
what is stored identical and decodable by the standard library.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | (
    orjson.OPT_PASSTHROUGH_DATACLASS
)


class OrjsonTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        if _has_uuid(obj):  # orjson has no UUID passthrough: keep the library's encoder
            return super().encode(obj)
        return orjson.dumps(obj, default=self._encode_obj, option=_OPTIONS)


def _has_uuid(obj: Any) -> bool:
    if isinstance(obj, UUID):
        return True
    if isinstance(obj, dict):
        return any(_has_uuid(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return any(_has_uuid(v) for v in obj)
    return False
