"""A fact refused when it is recorded: the one refusal every writing context raises.

Episodes (a journey rule, an event id reused), routing decisions (a request id reused) and
billing months (a month already closed) are all refused the same way, and the API answers
every refusal with the same body; so the refusal lives in the kernel, below the contexts.
"""

from __future__ import annotations


class EventRejected(Exception):  # noqa: N818 - a domain outcome
    """A fact in a request that cannot be recorded; ``index`` says which one of a batch."""

    status = 409

    def __init__(self, index: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.index, self.code, self.message, self.field = index, code, message, field
