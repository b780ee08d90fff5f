"""Secret sources. Each is a small object answering `lookup(name)`; an ordered list of them *is* the
precedence (the first that has a non-empty value wins). Adding a source means adding one class.

Interface: `base.SecretSource` (`label`, `lookup`, `findings`, `offered_names`, `variables_to_unset`);
the guide's write backends also implement `base.WritableSource` (`write`, `delete`).

The names below load on first use (PEP 562): the start-up path imports only the modules it needs.
"""


from __future__ import annotations

import importlib

_HOMES = {
    "SecretSource": "base", "WritableSource": "base", "EnvironmentSource": "environment",
    "FileIndirectionSource": "file_indirection", "SecretsDirectorySource": "directory",
    "CredentialsDirectorySource": "directory", "EnvFileSource": "env_file", "KeyringSource": "keyring",
    "OptionsSource": "options",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
