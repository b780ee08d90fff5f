"""The ordered source lists (the precedence) of the two ways secrets are read."""

import os

from entrypoint.formats import parse_boolean
from entrypoint.sources.directory import CredentialsDirectorySource, SecretsDirectorySource
from entrypoint.sources.env_file import EnvFileSource
from entrypoint.sources.environment import EnvironmentSource
from entrypoint.sources.file_indirection import FileIndirectionSource
from entrypoint.sources.keyring import KeyringSource

ENV_FILE_VARIABLE = "DEEPTEMPO_ENV_FILE"
SECRETS_DIR_VARIABLE = "DEEPTEMPO_SECRETS_DIR"
DEFAULT_SECRETS_DIR = "/run/secrets"


def default_dotenv_path():
    return os.path.join(os.path.expanduser("~"), ".deeptempo", ".env")


def keyring_enabled(environ):
    return parse_boolean(environ.get("ENABLE_KEYRING"), name="ENABLE_KEYRING")


def deployment_sources(environ=None, env_file=None, with_keyring=False):
    """What a platform hands a container or unit, highest precedence first:
    environment, NAME_FILE, secrets directory, systemd credentials, the mounted env-file."""
    environ = os.environ if environ is None else environ
    sources = [EnvironmentSource(environ), FileIndirectionSource(environ)]
    if environ.get(SECRETS_DIR_VARIABLE):
        sources.append(SecretsDirectorySource(environ[SECRETS_DIR_VARIABLE], explicit=True))
    elif os.path.isdir(DEFAULT_SECRETS_DIR):
        sources.append(SecretsDirectorySource(DEFAULT_SECRETS_DIR, explicit=False))
    if environ.get("CREDENTIALS_DIRECTORY"):
        sources.append(CredentialsDirectorySource(environ["CREDENTIALS_DIRECTORY"]))
    explicit_env_file = env_file or environ.get(ENV_FILE_VARIABLE)
    sources.append(EnvFileSource(explicit_env_file or default_dotenv_path(), explicit=bool(explicit_env_file)))
    if with_keyring:
        sources.append(KeyringSource())
    return sources


def guide_sources(environ=None, dotenv_path=None, with_keyring=False):
    """The user guide's read order: environment, the .env file, then the keyring when enabled."""
    environ = os.environ if environ is None else environ
    path = dotenv_path or environ.get(ENV_FILE_VARIABLE) or default_dotenv_path()
    sources = [EnvironmentSource(environ), EnvFileSource(path, explicit=False, check_permissions=False)]
    if with_keyring:
        sources.append(KeyringSource())
    return sources
