"""The ports the bundled broker and the test stacks listen on."""

from __future__ import annotations

from routing.messaging.bundled import free_port


def test_a_port_is_handed_out_once_per_process() -> None:
    """Two processes of one stack given one port left one unable to listen (uvicorn's exit 3)
    and the other answering for both; the kernel's own choice repeats within a few thousand
    binds (the birthday bound over about 28,000 ephemeral ports), so this fails without the
    memory of what was handed out."""
    ports = [free_port() for _ in range(3000)]
    assert len(set(ports)) == len(ports)
