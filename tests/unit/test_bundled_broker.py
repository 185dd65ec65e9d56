"""The ports the bundled broker and the test stacks listen on."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from routing.messaging import bundled
from routing.messaging.bundled import free_port, keep_off


@pytest.fixture(autouse=True)
def _forgotten_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ports these tests hand out are not kept from the rest of the session."""
    monkeypatch.setattr(bundled, "_handed_out", set(bundled._handed_out))


def test_a_port_is_handed_out_once_per_process() -> None:
    """Two processes of one stack given one port left one unable to listen (uvicorn's exit 3)
    and the other answering for both; the kernel's own choice repeats within a few thousand
    binds (the birthday bound over about 28,000 ephemeral ports), so this fails without the
    memory of what was handed out."""
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)


class _Kernel:
    """A socket whose bind to port 0 gets the kernel's choices from a list, in order."""

    choices: list[int] = []

    def __init__(self) -> None:
        self.port = 0

    def __enter__(self) -> _Kernel:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def bind(self, _: tuple[str, int]) -> None:
        self.port = _Kernel.choices.pop(0)

    def getsockname(self) -> tuple[str, int]:
        return "127.0.0.1", self.port


def test_a_port_kept_off_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """``routing dev`` checks its API port is free, then starts the broker on a port of
    ``free_port``'s choosing: even when the kernel offers the API's port again, kept off it
    is not the broker's."""
    api, other = 61_001, 61_002
    monkeypatch.setattr(bundled, "socket", SimpleNamespace(socket=_Kernel))
    monkeypatch.setattr(_Kernel, "choices", [api, other])
    keep_off(api)
    assert free_port() == other
