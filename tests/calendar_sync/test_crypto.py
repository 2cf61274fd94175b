"""SecretBox: encryption at rest with key rotation."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from calendar_sync.crypto import DecryptionError, SecretBox, derive_fernet_key

OLD = "an old passphrase that is not a Fernet key"
NEW = "a newer passphrase"


def test_round_trip():
    box = SecretBox([NEW])

    assert box.decrypt(box.encrypt("1//refresh-token")) == "1//refresh-token"


def test_ciphertext_hides_plaintext():
    token = SecretBox([NEW]).encrypt("1//refresh-token")

    assert "refresh" not in token
    assert "refresh" not in base64.urlsafe_b64decode(token).decode("latin-1")


def test_old_key_still_decrypts():
    token = SecretBox([OLD]).encrypt("secret")

    assert SecretBox([NEW, OLD]).decrypt(token) == "secret"


def test_newest_key_encrypts():
    token = SecretBox([NEW, OLD]).encrypt("secret")

    assert SecretBox([NEW]).decrypt(token) == "secret"
    with pytest.raises(DecryptionError):
        SecretBox([OLD]).decrypt(token)


def test_rotate_moves_token_to_newest_key():
    token = SecretBox([OLD]).encrypt("secret")

    rotated = SecretBox([NEW, OLD]).rotate(token)

    assert SecretBox([NEW]).decrypt(rotated) == "secret"


def test_removed_key_raises_clear_error():
    token = SecretBox([OLD]).encrypt("secret")

    with pytest.raises(DecryptionError, match="could not be decrypted") as raised:
        SecretBox([NEW]).decrypt(token)

    assert OLD not in str(raised.value)
    assert NEW not in str(raised.value)


def test_corrupt_token_raises_decryption_error():
    with pytest.raises(DecryptionError):
        SecretBox([NEW]).decrypt("not-a-token")


def test_fernet_key_used_as_given():
    key = Fernet.generate_key()
    token = Fernet(key).encrypt(b"secret").decode()

    assert SecretBox([key.decode()]).decrypt(token) == "secret"
    assert derive_fernet_key(key.decode()) == key


def test_passphrase_derivation_is_stable():
    assert derive_fernet_key(OLD) == derive_fernet_key(OLD)
    assert derive_fernet_key(OLD) != derive_fernet_key(NEW)


def test_no_keys_rejected():
    with pytest.raises(ValueError, match="at least one key"):
        SecretBox([])


def test_single_string_rejected():
    with pytest.raises(TypeError, match="list of keys"):
        SecretBox(NEW)  # type: ignore[arg-type]


def test_empty_key_rejected():
    with pytest.raises(ValueError, match="empty"):
        SecretBox([""])
