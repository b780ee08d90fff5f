"""Errors of the kit. Messages name secrets, files and fields, never a secret's value."""

# sysexits.h EX_CONFIG: the same input fails the same way on every restart (systemd's
# RestartPreventExitStatus=78 stops restart loops on it).
EXIT_CONFIG = 78


class ConfigError(Exception):
    """A configuration problem the user must fix; the CLI prints it and exits 78."""

    exit_code = EXIT_CONFIG


class SpecError(ConfigError):
    """The secrets spec is not YAML or breaks its schema."""


class EnvFileError(ConfigError):
    """An env-file cannot be read or parsed (names the file and the line)."""


class SecretFileError(ConfigError):
    """A file that should hold one secret cannot be used."""


class BackendError(ConfigError):
    """SECRETS_BACKEND / ENABLE_KEYRING name something that does not exist or is refused here."""
