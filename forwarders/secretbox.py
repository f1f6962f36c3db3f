"""Signing secrets at rest: Fernet-encrypted when a key is configured, else stored plain.

The key (`LRS_FORWARDER_SECRETS_KEY`, a Fernet key: 32 url-safe base64 bytes, see
`Fernet.generate_key()`) is given to the constructor. Stored values carry their form as a
prefix (`fernet:` or `plain:`), so a key can be added later and old values still read.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class SecretBoxError(ValueError):
    """A stored secret cannot be read with the configured key (or without one)."""


class SecretBox:
    def __init__(self, key: str | None) -> None:
        self._fernet = Fernet(key.encode()) if key else None

    def seal(self, secret: str) -> str:
        if self._fernet is None:
            return "plain:" + secret
        return "fernet:" + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        form, _, value = stored.partition(":")
        if form == "plain":
            return value
        if form != "fernet":
            raise SecretBoxError("unknown stored secret form")
        if self._fernet is None:
            raise SecretBoxError("secret is encrypted but LRS_FORWARDER_SECRETS_KEY is not set")
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken:
            raise SecretBoxError("secret does not decrypt with LRS_FORWARDER_SECRETS_KEY") from None
