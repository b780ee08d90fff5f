"""The secrets library of the user guide (secrets-management-guide.md, "API Reference").

    from deeptempo_entrypoint.secrets_manager import get_secret, set_secret, get_secrets_manager

Reads the same ordered sources as `check`, `status` and `serve`: the process environment, NAME_FILE,
the secrets directory, systemd credentials, the .env file (~/.deeptempo/.env, or $DEEPTEMPO_ENV_FILE),
then the OS keyring when ENABLE_KEYRING is true. In a served process a secret read from a file is the
file's current valid value (deeptempo_entrypoint.rotation). Writes go to SECRETS_BACKEND (dotenv by default, env,
keyring). An empty value is a missing value; the legacy lower-case names are honoured as aliases.
"""


import logging
import os
from collections.abc import Collection, MutableMapping, Sequence
from typing import Any

from deeptempo_entrypoint import rotation
from deeptempo_entrypoint.constants import (
    ENABLE_KEYRING_VARIABLE,
    ENV_FILE_VARIABLE,
    ENVIRONMENT_LABEL,
    KEYRING_LABEL,
    SECRETS_BACKEND_VARIABLE,
)
from deeptempo_entrypoint.echo import environment_secrets, safe_to_echo
from deeptempo_entrypoint.errors import BackendError, ConfigError
from deeptempo_entrypoint.resolution import first_found
from deeptempo_entrypoint.sources.base import SecretSource, WritableSource
from deeptempo_entrypoint.sources.chains import deployment_sources, keyring_enabled, process_environ
from deeptempo_entrypoint.sources.dotenv_backend import DotenvBackend
from deeptempo_entrypoint.sources.env_file import EnvFileSource
from deeptempo_entrypoint.sources.environment import EnvironmentSource
from deeptempo_entrypoint.sources.keyring import KeyringSource
from deeptempo_entrypoint.spec import builtin_spec

_log = logging.getLogger(__name__)

WRITE_BACKENDS = ("dotenv", "env", "keyring")
DEFAULT_WRITE_BACKEND = "dotenv"

_DESCRIPTIONS = {
    "environment": "Process environment variables (highest priority; not persistent)",
    "dotenv": ".env file (persistent, mode 0600)",
    "keyring": "OS keyring (macOS Keychain, Windows Credential Manager, Secret Service)",
}


def write_backend_from(environ: MutableMapping[str, str], withheld: Collection[str] = ()) -> str:
    """SECRETS_BACKEND, or an error naming it (quoting it only where a message may: echo.safe_to_echo)."""
    name = (environ.get(SECRETS_BACKEND_VARIABLE) or DEFAULT_WRITE_BACKEND).strip().lower()
    if name not in WRITE_BACKENDS:
        shown = f"={name!r}" if safe_to_echo(name, withheld=withheld) else ""
        raise BackendError(f"{SECRETS_BACKEND_VARIABLE}{shown} is not a secrets backend: use one of {', '.join(WRITE_BACKENDS)}")
    return name


class SecretsManager:
    def __init__(self, write_backend: str | None = None, enable_keyring: bool | None = None,
                 dotenv_path: str | None = None, environ: MutableMapping[str, str] | None = None) -> None:
        self.environ = process_environ(environ)
        # No resolution is made here: a message withholds the secrets the environment holds (a served app's).
        withheld = environment_secrets(self.environ)
        self.write_backend = write_backend_from({SECRETS_BACKEND_VARIABLE: write_backend} if write_backend else self.environ,
                                                withheld)
        if enable_keyring is None:
            enable_keyring = keyring_enabled(self.environ, withheld)
        self.enable_keyring = enable_keyring
        self._sources = deployment_sources(self.environ, dotenv_path, keyring=enable_keyring, env_file_optional=True)
        self._environment = next(s for s in self._sources if isinstance(s, EnvironmentSource))
        self._dotenv = next(s for s in self._sources if isinstance(s, EnvFileSource))
        self.dotenv_path = self._dotenv.path

    def get_secret(self, name: str, default: str | None = None) -> str | None:
        follower = rotation.process_rotation()
        followed = follower.value(_canonical(name)) if follower is not None else None
        if followed is not None:
            return followed
        found = first_found(self._sources, _lookup_names(name), on_error=_skip_unusable_keyring)
        return found.value if found else default

    def set_secret(self, name: str, value: str) -> bool:
        """Write `value` to the write backend and to os.environ under the secret's canonical name, and
        remove the other names it is known by (a legacy alias left behind would outlive the new value);
        True on success."""
        names = _lookup_names(name)
        canonical = _canonical(name)
        changes: dict[str, str | None] = {other: None for other in names if other != canonical}
        changes[canonical] = value
        self._write(changes)
        rotation.forget(canonical)  # the app's own value now, no longer its file's
        if self.write_backend != "env":
            self._environment.update(changes)  # the running process sees what it just saved
        return True

    def delete_secret(self, name: str) -> bool:
        """Remove the secret under every name it is known by, from the write backend and from
        os.environ (so a revoked key is not still found under its legacy name); True if it was anywhere."""
        changes: dict[str, str | None] = dict.fromkeys(_lookup_names(name))
        deleted = self._write(changes)
        rotation.forget(_canonical(name))
        return self._environment.update(changes).removed or deleted

    def _write(self, changes: dict[str, str | None]) -> bool:
        """The changes in the write backend, what it warns about logged (names, never values); whether a
        removed name was there."""
        written = self._writer().update(changes)
        for warning in written.warnings:
            _log.warning("%s", warning)
        return written.removed

    def _writer(self) -> WritableSource:
        if self.write_backend == "keyring":
            found = [source for source in self._sources if isinstance(source, KeyringSource)]
            return found[0] if found else KeyringSource()
        return self._environment if self.write_backend == "env" else DotenvBackend(self._dotenv.path)

    def get_backend_status(self) -> dict[str, Any]:
        return backend_status(self._sources, self.write_backend)

    # The original module's method names.
    def get(self, key: str, default: str | None = None) -> str | None:
        return self.get_secret(key, default)

    def set(self, key: str, value: str) -> bool:
        return self.set_secret(key, value)

    def delete(self, key: str) -> bool:
        return self.delete_secret(key)

    def __repr__(self) -> str:
        return f"SecretsManager(write_backend={self.write_backend!r}, enable_keyring={self.enable_keyring!r}, dotenv_path={self.dotenv_path!r})"


def backend_status(sources: Sequence[SecretSource], write_backend: str | None) -> dict[str, Any]:
    """The guide's get_backend_status() over a source list (the keyring is enabled when it is among
    them): `status` passes the one list it resolved from, the library its own."""
    dotenv_path = next(source for source in sources if isinstance(source, EnvFileSource)).path
    enabled = any(isinstance(source, KeyringSource) for source in sources)
    dotenv_dir = os.path.dirname(dotenv_path)
    exists = os.path.isfile(dotenv_path)
    readable = exists and os.access(dotenv_path, os.R_OK)
    keyring_backend = KeyringSource.backend() if enabled else None
    if not enabled:
        keyring_description = _DESCRIPTIONS["keyring"] + f": disabled (set {ENABLE_KEYRING_VARIABLE}=true to read it)"
    elif keyring_backend is None:
        keyring_description = _DESCRIPTIONS["keyring"] + ": enabled, but no keyring package or service is available"
    else:
        keyring_description = f"{_DESCRIPTIONS['keyring']}: {type(keyring_backend).__name__}"
    return {
        ENVIRONMENT_LABEL: {"available": True, "description": _DESCRIPTIONS["environment"]},
        "dotenv": {
            # Available means it holds secrets to read; a file that could be created holds none yet.
            "available": readable,
            "exists": exists,
            "readable": readable,
            "writable": os.access(dotenv_path, os.W_OK) if exists else _can_create_in(dotenv_dir),
            "path": dotenv_path,
            "description": _DESCRIPTIONS["dotenv"],
        },
        KEYRING_LABEL: {"available": keyring_backend is not None, "description": keyring_description},
        "write_backend": write_backend,
    }


def _skip_unusable_keyring(name: str, error: ConfigError) -> None:
    """A read finds nothing in a keyring that cannot be used (enabled in the UI, absent in a container);
    any other source's problem (a broken .env file) is raised."""
    if not isinstance(error, BackendError):
        raise error
    # The other sources' value is returned; the log says why the keyring gave none.
    _log.warning("%s", error)


def _can_create_in(directory: str) -> bool:
    """True when the nearest existing ancestor of `directory` is writable (makedirs would succeed)."""
    while not os.path.exists(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent
    return os.access(directory, os.W_OK)


def _canonical(name: str) -> str:
    entry = builtin_spec().entry_for(name)
    return entry.name if entry else name


def _lookup_names(name: str) -> tuple[str, ...]:
    """`name`, then its canonical spec name and the spec's legacy aliases (claude_api_key, ...)."""
    entry = builtin_spec().entry_for(name)
    return tuple(dict.fromkeys((name, *entry.lookup_names))) if entry else (name,)


# The process-wide manager. The original module's name for it, so that the backend's settings endpoint
# (`secrets_manager._secrets_manager = None`, then get_secrets_manager(enable_keyring=...)) works unchanged.
_secrets_manager: SecretsManager | None = None
_settings_seen: tuple[object, ...] | None = None
_MANAGER_SETTINGS = (SECRETS_BACKEND_VARIABLE, ENABLE_KEYRING_VARIABLE, ENV_FILE_VARIABLE, "HOME")


def get_secrets_manager(write_backend: str | None = None, enable_keyring: bool | None = None) -> SecretsManager:
    """The process-wide manager. Given arguments, a new one with them (the original API); otherwise the
    current one, rebuilt when SECRETS_BACKEND, ENABLE_KEYRING, the .env path or HOME change."""
    global _secrets_manager, _settings_seen
    settings = tuple(os.environ.get(key) for key in _MANAGER_SETTINGS)
    if write_backend is not None or enable_keyring is not None:
        _secrets_manager = SecretsManager(write_backend=write_backend, enable_keyring=enable_keyring)
        _settings_seen = settings
    elif _secrets_manager is None or _settings_seen != settings:
        _secrets_manager = SecretsManager()
        _settings_seen = settings
    return _secrets_manager


def get_secret(name: str, default: str | None = None) -> str | None:
    follower = rotation.process_rotation()
    if follower is not None and name in follower.followed:  # the hot path of a served app: no manager lookup
        return follower.value(name)
    return get_secrets_manager().get_secret(name, default)


def set_secret(name: str, value: str) -> bool:
    return get_secrets_manager().set_secret(name, value)


def delete_secret(name: str) -> bool:
    return get_secrets_manager().delete_secret(name)
