"""Errors of the kit. Messages name secrets, files and fields, never a secret's value."""


from collections.abc import Iterable

from deeptempo_entrypoint.constants import EXIT_CONFIG, EXIT_UNAVAILABLE


class KitError(Exception):
    """An error the CLIs print as one line (no traceback) and exit with `exit_code`."""

    exit_code = EXIT_CONFIG


class ConfigError(KitError):
    """A configuration problem the user must fix; the CLI prints it and exits 78."""


class UnavailableError(KitError):
    """A service a command needs (the Docker engine, an API endpoint) cannot be reached: exit 69."""

    exit_code = EXIT_UNAVAILABLE


class SpecError(ConfigError):
    """The secrets spec is not YAML or breaks its schema; `problems` lists each one."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems) or [message]


class EnvFileError(ConfigError):
    """An env-file cannot be read or parsed (names the file and the line)."""


class SecretFileError(ConfigError):
    """A file that should hold one secret cannot be used."""


class BackendError(ConfigError):
    """SECRETS_BACKEND / ENABLE_KEYRING name something that does not exist or is refused here, or the
    keyring failed; `subject` is the name its finding is on, when not the secret being read."""

    subject: str | None = None
