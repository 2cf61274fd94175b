"""Encryption at rest for stored secrets: refresh tokens, token caches, passwords.

``SecretBox`` wraps cryptography's MultiFernet. The first key encrypts, every
key decrypts, and ``rotate`` re-encrypts a token under the first key, so a key
is replaced by putting the new one first, rotating stored tokens, and then
dropping the old one.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

logger = logging.getLogger(__name__)

# Fixed so the same secret string always derives the same key.
_HKDF_SALT = b"torace secret box v1"
_HKDF_INFO = b"fernet key"


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


def derive_fernet_key(secret: str) -> bytes:
    """Return ``secret`` itself if it is a Fernet key, else a key derived by HKDF.

    A Fernet key is 32 bytes in URL-safe base64. Any other string, such as a
    passphrase, goes through HKDF-SHA256 with a fixed salt.
    """
    if not secret:
        raise ValueError("an encryption key is empty; set a non-empty secret")
    try:
        if len(base64.urlsafe_b64decode(secret.encode("ascii"))) == 32:
            return secret.encode("ascii")
    except (binascii.Error, UnicodeEncodeError, ValueError):
        pass

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8")))


class SecretBox:
    """Encrypts and decrypts strings with a list of keys, newest first."""

    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str):
            raise TypeError(
                "SecretBox takes a list of keys, newest first, not one string"
            )
        if not keys:
            raise ValueError("SecretBox needs at least one key; configure a secret key")
        self._fernet = MultiFernet([Fernet(derive_fernet_key(key)) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        """Encrypt ``plaintext`` with the newest key."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a token made with any configured key, or raise DecryptionError."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise DecryptionError(
                "a stored secret could not be decrypted: it is corrupt, or its key "
                "was removed from the configured keys; restore the old key or "
                "reconnect the account"
            ) from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise DecryptionError(
                "a stored secret could not be re-encrypted because no configured "
                "key decrypts it; restore the old key before rotating"
            ) from exc
