"""Answer templates: a routing answer with its request's ids left as placeholders.

Front-ends ask the same few hundred questions all day, and two questions that differ only in
their ids get the same answer but for those ids (``cache.py``). A template is that shared
answer, made once for stand-in ids; its digest names it. The decision cache serves from it,
and the audit record of a decision stores the question and the template's digest instead of
a 4 KB copy of the answer (``record.py``): the answer given is the template with the
question's own ids put back, byte for byte.

Placeholders are UUIDs in their 36-character form and are replaced by the request's UUIDs in
the same form: nothing the rules write can equal one (tests/unit/test_decision_cache.py holds
every filled template equal to a fresh answer). A client may still choose a placeholder as
one of its ids; then both are replaced in a single pass, so one id is never taken for the
other.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

REQUEST = UUID("00000000-0000-4000-8000-00000000a001")
EPISODE = UUID("00000000-0000-4000-8000-00000000e001")
_REQUEST = str(REQUEST).encode()
_EPISODE = str(EPISODE).encode()
_EITHER = re.compile(re.escape(_REQUEST) + b"|" + re.escape(_EPISODE))
TEMPLATE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:routing:routing-answer-template")


@dataclass(frozen=True)
class AnswerTemplate:
    json: bytes
    """The answer's JSON for the stand-in ids (``REQUEST``, and ``EPISODE`` if any)."""
    digest: str
    """SHA-256 of ``json``: the same answer is one template, wherever and whenever made."""

    @classmethod
    def of(cls, json: bytes) -> AnswerTemplate:
        return cls(json, hashlib.sha256(json).hexdigest())

    @property
    def id(self) -> UUID:
        """The template's aggregate id in the store."""
        return template_id(self.digest)

    def fill(self, request_id: UUID, episode_id: UUID | None) -> bytes:
        return fill(self.json, request_id, episode_id)


def template_id(digest: str) -> UUID:
    return uuid5(TEMPLATE_NAMESPACE, digest)


def fill(template: bytes, request_id: UUID, episode_id: UUID | None) -> bytes:
    """The answer to the request with these ids."""
    request = str(request_id).encode()
    episode = str(episode_id).encode() if episode_id is not None else _EPISODE
    if request in (_REQUEST, _EPISODE) or episode == _REQUEST:
        ids = {_REQUEST: request, _EPISODE: episode}
        return _EITHER.sub(lambda m: ids[m.group()], template)
    body = template.replace(_REQUEST, request)
    return body if episode_id is None else body.replace(_EPISODE, episode)
