"""Secret sources. Each is a small object answering `lookup(name)`; an ordered list of them *is* the
precedence (the first that has a non-empty value wins). Adding a source means adding one class.

Interface: `base.SecretSource` (`label`, `lookup`, `findings`, `offered_names`, `variables_to_unset`);
the guide's write backends also implement `base.WritableSource` (`write`, `delete`).
"""

from entrypoint.sources.base import SecretSource, WritableSource
from entrypoint.sources.directory import CredentialsDirectorySource, SecretsDirectorySource
from entrypoint.sources.env_file import EnvFileSource
from entrypoint.sources.environment import EnvironmentSource
from entrypoint.sources.file_indirection import FileIndirectionSource
from entrypoint.sources.keyring import KeyringSource

__all__ = [
    "SecretSource", "WritableSource", "EnvironmentSource", "FileIndirectionSource", "SecretsDirectorySource",
    "CredentialsDirectorySource", "EnvFileSource", "KeyringSource",
]
