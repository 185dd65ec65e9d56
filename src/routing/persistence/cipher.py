"""Encryption at rest of stored event payloads, with key rotation.

The eventsourcing library encrypts each stored event's state with AES-GCM (its
``eventsourcing.cryptography.AESCipher``, on the ``cryptography`` package) but knows one key
only. Rotation needs two: new payloads are encrypted with ``CIPHER_KEY`` while payloads written
under an earlier key (``CIPHER_OLD_KEYS``, comma-separated) still decrypt, until
``routing keys rotate`` has re-encrypted them. GCM's tag tells a wrong key from a right one,
so no key id is stored. The stored format is the library's (nonce, tag, ciphertext).
"""

from __future__ import annotations

from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import Cipher
from eventsourcing.utils import Environment


class RotatingAESCipher(Cipher):
    OLD_KEYS = "CIPHER_OLD_KEYS"

    def __init__(self, environment: Environment) -> None:
        self.current = AESCipher(environment)
        old = [k.strip() for k in (environment.get(self.OLD_KEYS) or "").split(",") if k.strip()]
        self.old = [AESCipher(Environment(env={"CIPHER_KEY": key})) for key in old]

    def encrypt(self, plaintext: bytes) -> bytes:
        result: bytes = self.current.encrypt(plaintext)
        return result

    def decrypt(self, ciphertext: bytes) -> bytes:
        try:
            result: bytes = self.current.decrypt(ciphertext)
            return result
        except ValueError:
            for cipher in self.old:
                try:
                    older: bytes = cipher.decrypt(ciphertext)
                    return older
                except ValueError:
                    continue
            raise

    def is_current(self, ciphertext: bytes) -> bool:
        """Encrypted under the current key (no re-encryption needed)?"""
        try:
            self.current.decrypt(ciphertext)
        except ValueError:
            return False
        return True
