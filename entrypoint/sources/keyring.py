
from __future__ import annotations

from typing import TYPE_CHECKING

from entrypoint.constants import KEYRING_LABEL, KEYRING_SERVICE
from entrypoint.sources.base import WritableSource

if TYPE_CHECKING:
    from typing import Any


class KeyringSource(WritableSource):
    """The OS keyring (macOS Keychain, Windows Credential Manager, Secret Service), service
    `deeptempo-ai-soc`. Only consulted when ENABLE_KEYRING is true; needs the `keyring` extra."""

    label = KEYRING_LABEL

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service

    @staticmethod
    def backend() -> Any:
        """The active keyring backend, or None when the package or a usable backend is missing."""
        try:
            import keyring
            from keyring.backends import fail
        except ImportError:
            return None
        backend = keyring.get_keyring()
        return None if isinstance(backend, fail.Keyring) else backend

    def _require_backend(self) -> Any:
        backend = self.backend()
        if backend is None:
            from entrypoint.errors import BackendError

            raise BackendError(
                "the OS keyring is not usable here: install the extra (pip install 'deeptempo-deploy[keyring]') "
                "on a machine with a keyring service, or use SECRETS_BACKEND=dotenv/env"
            )
        return backend

    def lookup(self, name: str) -> str | None:
        return self._require_backend().get_password(self.service, name) or None

    def write(self, name: str, value: str) -> None:
        self._require_backend().set_password(self.service, name, value)

    def delete(self, name: str) -> bool:
        from keyring.errors import PasswordDeleteError

        try:
            self._require_backend().delete_password(self.service, name)
        except PasswordDeleteError:
            return False
        return True
