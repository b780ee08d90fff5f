"""The kit's fixed names and numbers, defined once: the variables it reads, the service's port, health
path and uid, the source labels of the JSON contract, and every exit code a user can see.

Tests, the image, the platform renderers and `deeptempo-deploy` import them from here."""

# --- Variables the kit reads (beyond the spec's own entries) -------------------------------------
ENV_FILE_VARIABLE = "DEEPTEMPO_ENV_FILE"
SECRETS_DIR_VARIABLE = "DEEPTEMPO_SECRETS_DIR"
SPEC_VARIABLE = "DEEPTEMPO_SECRETS_SPEC"
SOURCES_VARIABLE = "DEEPTEMPO_SECRET_SOURCES"  # name -> source label, given to the started program; no values
ALLOW_PERSISTENT_BACKEND_VARIABLE = "DEEPTEMPO_ALLOW_PERSISTENT_BACKEND"
DEBUG_VARIABLE = "DEEPTEMPO_DEBUG"
CREDENTIALS_DIRECTORY_VARIABLE = "CREDENTIALS_DIRECTORY"  # set by systemd for LoadCredential=
SECRETS_BACKEND_VARIABLE = "SECRETS_BACKEND"
ENABLE_KEYRING_VARIABLE = "ENABLE_KEYRING"
CHILD_SECRETS_VARIABLE = "DEEPTEMPO_CHILD_SECRETS"  # "inherit": serve lets every child of the app inherit every secret
FILE_SUFFIX = "_FILE"  # NAME_FILE=/path, the official images' convention
# The backend's storage settings (its database/connection.py and main.py read them from the environment).
DATA_BACKEND_VARIABLE = "DATA_BACKEND"  # database (its default) or json
DATABASE_STORAGE = "database"
DATABASE_HOST_VARIABLE = "POSTGRES_HOST"  # unset, the backend tries localhost and falls back to JSON files

KIT_VARIABLES = (ENV_FILE_VARIABLE, SECRETS_DIR_VARIABLE, SPEC_VARIABLE, SOURCES_VARIABLE,
                 ALLOW_PERSISTENT_BACKEND_VARIABLE, DEBUG_VARIABLE, CREDENTIALS_DIRECTORY_VARIABLE,
                 CHILD_SECRETS_VARIABLE)

DEFAULT_SECRETS_DIR = "/run/secrets"
STATE_DIR_NAME = ".deeptempo"  # ~/.deeptempo: the app's state, and the guide's .env
KEYRING_SERVICE = "deeptempo-ai-soc"

# --- The service -------------------------------------------------------------------------------
SERVICE_NAME = "deeptempo-ai-soc"
DEFAULT_PORT = 6987
HEALTH_PATH = "/api/health"
SERVICE_UID = 10001
SERVICE_HOME = "/home/deeptempo"
STATE_DIR = f"{SERVICE_HOME}/{STATE_DIR_NAME}"  # the app's log and saved settings: a writable mount everywhere
APP_ROOT = "/srv/deeptempo"  # where an image built FROM the kit puts the backend's repository
DATA_DIR = f"{APP_ROOT}/data"  # the backend's JSON storage when it has no PostgreSQL: a writable mount too

# --- Source labels: `check --json`'s "sources", DEEPTEMPO_SECRET_SOURCES, /api/secrets/status ------
ENVIRONMENT_LABEL = "environment"
FILE_INDIRECTION_LABEL = "_FILE"
SECRETS_DIR_LABEL = "secrets-dir"
CREDENTIALS_LABEL = "credentials"
ENV_FILE_LABEL = "env-file"
KEYRING_LABEL = "keyring"
OPTIONS_LABEL = "option"  # shown as the option itself: --port
DEFAULT_LABEL = "default"  # a setting nobody set: the spec's (or serve's) default applies

# --- Exit codes ----------------------------------------------------------------------------------
EXIT_OK = 0
EXIT_FAILURE = 1  # deeptempo-deploy: a check failed (smoke), the service did not turn healthy (local)
EXIT_USAGE = 2  # click: a mistyped command line
EXIT_UNAVAILABLE = 69  # sysexits EX_UNAVAILABLE: a service the command needs (Docker, an API) cannot be reached
EXIT_SOFTWARE = 70  # sysexits EX_SOFTWARE: an internal error (a bug), reported without its message
EXIT_CONFIG = 78  # sysexits EX_CONFIG: fails the same way on every restart (RestartPreventExitStatus=78)
EXIT_NOT_EXECUTABLE = 126  # the shell's: a pass-through command that cannot be executed
EXIT_NOT_FOUND = 127  # the shell's: a pass-through command not found
EXIT_INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
