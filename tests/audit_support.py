"""Shared helpers of the audit tests: a store with a known journey, and a test cipher."""

from __future__ import annotations

import os
from typing import Any

from eventsourcing.persistence import Cipher
from eventsourcing.utils import Environment

from routing.episodes.events import parse_event
from routing.episodes.service import CareEpisodes


class NonceCipher(Cipher):
    """TEST ONLY, not encryption: a random nonce and XOR, so that the same plaintext is
    stored as different bytes each time, as a real cipher's would be."""

    def __init__(self, environment: Environment) -> None:
        self.key = (environment.get("CIPHER_KEY") or "test-key").encode()

    def _xor(self, data: bytes, nonce: bytes) -> bytes:
        pad = (self.key + nonce) * (len(data) // (len(self.key) + 8) + 1)
        return bytes(a ^ b for a, b in zip(data, pad, strict=False))

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(8)
        return nonce + self._xor(plaintext, nonce)

    def decrypt(self, ciphertext: bytes) -> bytes:
        return self._xor(ciphertext[8:], ciphertext[:8])


NONCE_CIPHER_ENV = {
    "PERSISTENCE_MODULE": "eventsourcing.popo",
    "CIPHER_TOPIC": "tests.audit_support:NonceCipher",
    "CIPHER_KEY": "dev-only-test-key",
}


def record(service: CareEpisodes, bodies: list[dict[str, Any]]) -> None:
    service.record_batch([parse_event(b) for b in bodies])
