"""Encodes stored events with orjson, in exactly the library's JSON format.

The library's JSONTranscoder writes non-JSON values (datetimes, UUIDs) as
``{"_type_": ..., "_data_": ...}`` objects via a ``default`` hook. orjson would write datetimes
and UUIDs natively, as plain strings, which the decoder could not tell from strings; so every
such value is routed through the same hook (passthrough options, and a UUID check), keeping
what is stored identical and decodable by the standard library.

The UUID check looks at the event's own attributes only: everything nested below them is a
JSON-mode dump (facts, questions, answers are stored with ``model_dump(mode="json")``), and a
deep scan of every stored payload would cost more than the encoding itself.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | (orjson.OPT_PASSTHROUGH_DATACLASS)
)


class OrjsonTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        if isinstance(obj, dict) and any(isinstance(v, UUID) for v in obj.values()):
            return super().encode(obj)  # orjson has no UUID passthrough: the library's encoder
        return orjson.dumps(obj, default=self._encode_obj, option=_OPTIONS)
