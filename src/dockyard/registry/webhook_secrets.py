"""Webhook signing secrets at rest: encrypted with the server's key (Fernet: AES-128-CBC + HMAC-SHA256).

The key is ``DOCKYARD_SECRET_KEY`` when set (any string of at least 32 characters; the Fernet key is
derived from it with HKDF-SHA256, so the same value may serve other purposes without the keys being
related). Otherwise it is a random key kept in ``secret.key`` in the store's data folder (next to the
SQLite file; ``./.dockyard`` for PostgreSQL), created with mode 0600 on first use and reused after.
An in-memory database gets a key that lives as long as the process, like the database.

A stored value is ``dockyard-fernet:v1:<token>``. A value without that prefix is a plaintext secret
written before encryption existed: it is used as is, and encrypted when the webhook is next updated.

>>> box = SecretBox.ephemeral()
>>> sealed = box.seal("s3cret")
>>> sealed.startswith(PREFIX) and "s3cret" not in sealed and box.open(sealed) == "s3cret"
True
>>> box.open("legacy-plaintext")
'legacy-plaintext'
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import InvalidParameter, MissingExtra

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

log = logging.getLogger(__name__)

PREFIX = "dockyard-fernet:v1:"
KEY_FILE = "secret.key"
KEY_SETTING = "DOCKYARD_SECRET_KEY"
MIN_KEY_LENGTH = 32
_HKDF_INFO = b"dockyard webhook secrets v1"  # binds the derived key to this use


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with this server's key (the delivery fails; never an API error)."""


def is_sealed(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)


def _read_key(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_KEY_LENGTH:
        raise InvalidParameter(f"the key file {str(path)!r} holds no valid key: remove it or set {KEY_SETTING}")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning("webhooks: the key file %s is readable by other users; chmod 600 it", path)
    return key


def load_or_create_key(folder: Path) -> str:
    """The key in ``folder/secret.key``, created (mode 0600) when missing. Safe against another process
    creating it at the same moment: the file appears whole (a hard link of a finished file) or not at all."""
    path = folder / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    draft = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            log.info("webhooks: generated the key for webhook secrets in %s", path)
    finally:
        draft.unlink(missing_ok=True)
    return _read_key(path)


class SecretBox:
    """Encrypts and decrypts webhook secrets; the key is loaded (or generated) on first use."""

    def __init__(self, key: Callable[[], str]) -> None:
        self._key = key
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    @classmethod
    def configured(cls, secret_key: str | None, folder: Path | None) -> SecretBox:
        """``secret_key`` (``DOCKYARD_SECRET_KEY``) when given, else the key file in ``folder``, else (an
        in-memory database: ``folder`` None) a key for this process only."""
        if secret_key:
            if len(secret_key) < MIN_KEY_LENGTH:
                raise InvalidParameter(
                    f"{KEY_SETTING} is {len(secret_key)} characters; use at least {MIN_KEY_LENGTH} "
                    "(for example the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
                )
            return cls(lambda: secret_key)
        if folder is not None:
            return cls(lambda: load_or_create_key(folder))
        return cls.ephemeral()

    @classmethod
    def ephemeral(cls) -> SecretBox:
        key = secrets.token_urlsafe(32)
        return cls(lambda: key)

    @staticmethod
    def available() -> bool:
        """Whether ``cryptography`` (the ``server`` extra) is installed."""
        try:
            import cryptography.fernet  # noqa: F401
        except ImportError:
            return False
        return True

    def _cipher(self) -> Fernet:
        try:
            from cryptography.fernet import Fernet
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        except ImportError:
            raise MissingExtra("cryptography", "server") from None
        with self._lock:
            if self._fernet is None:
                derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
                    self._key().encode("utf-8")
                )
                self._fernet = Fernet(base64.urlsafe_b64encode(derived))
            return self._fernet

    def seal(self, secret: str | None) -> str | None:
        """The stored form of ``secret`` (None stays None)."""
        if not secret:
            return None
        return PREFIX + self._cipher().encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, stored: str | None) -> str | None:
        """The secret a stored value holds; a value without the prefix is a legacy plaintext secret."""
        if not stored:
            return None
        if not is_sealed(stored):
            return stored
        cipher = self._cipher()
        from cryptography.fernet import InvalidToken

        try:
            return cipher.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretUnreadable(
                f"the webhook secret cannot be decrypted with this server's key: it was encrypted with "
                f"another {KEY_SETTING} or {KEY_FILE}; set the webhook's secret again"
            ) from None
