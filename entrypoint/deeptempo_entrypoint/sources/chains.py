"""The ordered list of sources (the precedence) that the library and every command read."""


import os
from collections.abc import Collection, MutableMapping

from deeptempo_entrypoint.constants import (
    CREDENTIALS_DIRECTORY_VARIABLE,
    DEFAULT_SECRETS_DIR,
    ENABLE_KEYRING_VARIABLE,
    ENV_FILE_VARIABLE,
    SECRETS_DIR_VARIABLE,
    STATE_DIR_NAME,
)
from deeptempo_entrypoint.echo import safe_to_echo
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.formats import TRUE_WORDS, boolean
from deeptempo_entrypoint.sources.base import SecretSource
from deeptempo_entrypoint.sources.directory import CredentialsDirectorySource, SecretsDirectorySource
from deeptempo_entrypoint.sources.env_file import EnvFileSource
from deeptempo_entrypoint.sources.environment import EnvironmentSource
from deeptempo_entrypoint.sources.file_indirection import FileIndirectionSource
from deeptempo_entrypoint.sources.keyring import KeyringSource


def process_environ(environ: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """The environment the kit reads: the process's own unless a mapping is given (tests, embedders)."""
    return os.environ if environ is None else environ


def default_dotenv_path() -> str:
    return os.path.join(os.path.expanduser("~"), STATE_DIR_NAME, ".env")


def keyring_enabled(environ: MutableMapping[str, str], withheld: Collection[str] = ()) -> bool:
    """ENABLE_KEYRING as the library reads it: anything but a boolean is an error naming it (and quoting
    it only where a message may: none of the `withheld` values, no secret's shape)."""
    value = environ.get(ENABLE_KEYRING_VARIABLE)
    enabled = boolean(value)
    if enabled is None:
        shown = f"={value!r}" if value is not None and safe_to_echo(value, withheld=withheld) else ""
        raise ConfigError(f"{ENABLE_KEYRING_VARIABLE}{shown} is not a boolean: use true/false (also 1/0, yes/no, on/off)")
    return enabled


def deployment_sources(environ: MutableMapping[str, str], env_file: str | None = None,
                       options: SecretSource | None = None, keyring: bool | None = None,
                       env_file_optional: bool = False) -> list[SecretSource]:
    """What check, status, serve and exec read, highest precedence first: command-line options (serve's
    settings), environment, NAME_FILE, secrets directory, systemd credentials, the mounted env-file,
    and the OS keyring when ENABLE_KEYRING is true (serve then refuses to start unless
    DEEPTEMPO_ALLOW_PERSISTENT_BACKEND). `keyring`, when given, decides instead of ENABLE_KEYRING (the
    library's enable_keyring argument; False where serve would refuse it, so it is not even touched).
    `env_file_optional`: a missing env-file is no error (the library creates it when a secret is set)."""
    sources: list[SecretSource] = [options] if options else []
    sources += [EnvironmentSource(environ)]
    sources.append(FileIndirectionSource(environ))
    if environ.get(SECRETS_DIR_VARIABLE):
        sources.append(SecretsDirectorySource(environ[SECRETS_DIR_VARIABLE], explicit=True))
    elif os.path.isdir(DEFAULT_SECRETS_DIR):
        sources.append(SecretsDirectorySource(DEFAULT_SECRETS_DIR, explicit=False))
    if environ.get(CREDENTIALS_DIRECTORY_VARIABLE):
        sources.append(CredentialsDirectorySource(environ[CREDENTIALS_DIRECTORY_VARIABLE]))
    explicit_env_file = env_file or environ.get(ENV_FILE_VARIABLE)
    sources.append(EnvFileSource(explicit_env_file or default_dotenv_path(),
                                 explicit=bool(explicit_env_file) and not env_file_optional))
    # A value that is no boolean adds no keyring here; validation reports it with every other finding.
    wanted = (environ.get(ENABLE_KEYRING_VARIABLE) or "").strip().lower() in TRUE_WORDS if keyring is None else keyring
    if wanted:
        sources.append(KeyringSource())
    return sources
