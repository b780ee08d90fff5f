
import threading
from collections.abc import Callable
from typing import Any

from deeptempo_entrypoint.constants import ENABLE_KEYRING_VARIABLE, KEYRING_LABEL, KEYRING_SERVICE
from deeptempo_entrypoint.errors import BackendError
from deeptempo_entrypoint.sources.base import WritableSource


class KeyringSource(WritableSource):
    """The OS keyring (macOS Keychain, Windows Credential Manager, Secret Service), service
    `deeptempo-ai-soc`. Only consulted when ENABLE_KEYRING is true; needs the `keyring` extra."""

    label = KEYRING_LABEL

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service
        self._failed: Exception | None = None  # a keyring that hung or broke once is not asked again

    @staticmethod
    def backend() -> Any:
        """The active keyring backend, or None when the package or a usable backend is missing."""
        try:  # the `keyring` extra, imported where it is used: without it, there is no keyring to read
            import keyring
            from keyring.backends import fail
        except ImportError:
            return None
        backend = keyring.get_keyring()
        return None if isinstance(backend, fail.Keyring) else backend

    def _require_backend(self) -> Any:
        if self._failed is not None:
            raise self._failed
        backend = self.backend()
        if backend is None:
            error = BackendError(
                "the OS keyring is not usable here: install the extra (pip install 'deeptempo-deploy[keyring]') "
                "on a machine with a keyring service, or use SECRETS_BACKEND=dotenv/env"
            )
            error.subject = ENABLE_KEYRING_VARIABLE  # the finding is on the switch, not on a secret
            raise error
        return backend

    def describe(self) -> str:
        return "the OS keyring"

    def lookup(self, name: str) -> str | None:
        backend = self._require_backend()
        try:
            value = _bounded(lambda: backend.get_password(self.service, name), "reading", name)
        except Exception as exc:
            self._failed = exc  # one wait per run, not one per secret
            raise
        return str(value) if value else None

    def write(self, name: str, value: str) -> None:
        backend = self._require_backend()
        _bounded(lambda: backend.set_password(self.service, name, value), "writing", name)

    def delete(self, name: str) -> bool:
        backend = self._require_backend()
        from keyring.errors import PasswordDeleteError  # the extra is installed: _require_backend found it

        def delete() -> bool:
            try:
                backend.delete_password(self.service, name)
            except PasswordDeleteError:
                return False
            return True

        return bool(_bounded(delete, "deleting", name))


KEYRING_SECONDS = 5.0  # a keyring call longer than this is a keyring that does not answer


def _bounded(call: Callable[[], Any], doing: str, name: str) -> Any:
    """A keyring call in a thread of its own, waited for KEYRING_SECONDS: a keyring that hangs (a locked
    Secret Service, a D-Bus that never answers) or raises is a BackendError naming the secret, never a
    hang or a traceback. The exception's text is not repeated: a backend may quote what it was given."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except Exception as exc:  # noqa: BLE001 - any backend's failure is the keyring's finding
            outcome["error"] = type(exc).__name__

    worker = threading.Thread(target=run, name=f"keyring-{doing}", daemon=True)
    worker.start()
    worker.join(KEYRING_SECONDS)
    if worker.is_alive():
        raise BackendError(f"the OS keyring did not answer within {KEYRING_SECONDS:g} s {doing} {name}; unlock it, or set "
                           "ENABLE_KEYRING=false and give the secret another way")
    if "error" in outcome:
        raise BackendError(f"the OS keyring failed {doing} {name} ({outcome['error']}); fix the keyring, or set "
                           "ENABLE_KEYRING=false and give the secret another way")
    return outcome.get("value")
