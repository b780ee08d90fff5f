"""Secret sources. Each is a small object answering `lookup(name)`; an ordered list of them *is* the
precedence (the first that has a non-empty value wins). Adding a source means adding one class.

Interface (see base.SecretSource): `label`, `lookup(name) -> str | None`, `findings(names)`,
`offered_names()`, `variables_to_unset(names)`; writable ones (the guide's write backends) add
`write(name, value)` and `delete(name)`.
"""

from entrypoint.sources.base import Finding, SecretSource
from entrypoint.sources.directory import CredentialsDirectorySource, SecretsDirectorySource
from entrypoint.sources.environment import EnvironmentSource
from entrypoint.sources.env_file import EnvFileSource
from entrypoint.sources.file_indirection import FileIndirectionSource
from entrypoint.sources.keyring import KeyringSource

__all__ = [
    "Finding", "SecretSource", "EnvironmentSource", "FileIndirectionSource", "SecretsDirectorySource",
    "CredentialsDirectorySource", "EnvFileSource", "KeyringSource",
]
