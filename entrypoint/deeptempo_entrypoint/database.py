"""serve waits for the backend's database before handing over.

The DeepTempo backend, when it cannot log in to PostgreSQL at start, logs and keeps its data in JSON files
instead, silently: a first `compose up` whose database is still initialising, or a wrong password, leaves
it serving on files nobody looks at. So when the backend would use a database (POSTGRES_HOST set,
DATA_BACKEND database, the default), serve first logs in the way the backend will (host, port, database,
user, password, sslmode), retrying while the server is not up, within DATABASE_WAIT_VARIABLE seconds:
- the login succeeds: serve hands over;
- the server never answers: exit 69, naming the host and port;
- the server refuses the login: exit 78, naming what to fix (POSTGRES_PASSWORD, POSTGRES_USER,
  POSTGRES_DB), never a value.
The driver is the backend's own psycopg2 (or the `database` extra's), imported only on this path."""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

from deeptempo_entrypoint.errors import ConfigError, UnavailableError
from deeptempo_entrypoint.formats import safe_to_echo

DATABASE_WAIT_VARIABLE = "DEEPTEMPO_DATABASE_WAIT"
DEFAULT_WAIT_SECONDS = 60.0  # a first start with a fresh database initialising beside it took 36 s
CONNECT_SECONDS = 3  # one login attempt
RETRY_SECONDS = 1.0
# What the server says when it refuses a login (libpq's messages), and the setting to fix.
REFUSALS = (
    ("password authentication failed", "POSTGRES_PASSWORD", "the database refuses this password for POSTGRES_USER"),
    ("no password supplied", "POSTGRES_PASSWORD", "the database asks for a password and none is set"),
    ("does not exist", "POSTGRES_DB", "the database or the user does not exist on the server (POSTGRES_DB, POSTGRES_USER)"),
    ("no pg_hba.conf entry", "POSTGRES_USER", "the server's pg_hba.conf admits no login for this user, database "
                                              "and address (or POSTGRES_SSL_MODE)"),
    ("server does not support SSL", "POSTGRES_SSL_MODE", "the server has no TLS, and POSTGRES_SSL_MODE requires it"),
)
# What the server says while it is not ready yet: keep waiting.
NOT_YET = ("the database system is starting up", "the database system is shutting down", "Connection refused",
           "could not connect", "timeout expired", "could not translate host name", "No route to host",
           "server closed the connection unexpectedly", "Name or service not known", "Temporary failure")


@dataclass(frozen=True)
class DatabaseLogin:
    """How the backend logs in (database/connection.py): its settings and defaults."""

    host: str
    port: int
    database: str
    user: str
    password: str
    ssl_mode: str

    def __repr__(self) -> str:  # the password stays out of it
        return f"DatabaseLogin({self.user}@{self.host}:{self.port}/{self.database})"

    @property
    def where(self) -> str:
        host = self.host if safe_to_echo(self.host) else "POSTGRES_HOST"
        return f"{host}:{self.port}"


def database_login(environment: Mapping[str, str]) -> DatabaseLogin | None:
    """The login the backend will try, or None when it will use no database (no POSTGRES_HOST, or
    DATA_BACKEND=json)."""
    host = environment.get("POSTGRES_HOST") or ""
    if not host or (environment.get("DATA_BACKEND") or "database").strip().lower() != "database":
        return None
    return DatabaseLogin(host=host, port=int(environment.get("POSTGRES_PORT") or 5432),
                         database=environment.get("POSTGRES_DB") or "deeptempo_soc",
                         user=environment.get("POSTGRES_USER") or "deeptempo",
                         password=environment.get("POSTGRES_PASSWORD") or "",
                         ssl_mode=environment.get("POSTGRES_SSL_MODE") or "prefer")


def driver() -> ModuleType | None:
    """psycopg2, where installed (the DeepTempo backend requires it; deeptempo-entrypoint[database])."""
    try:
        return importlib.import_module("psycopg2")
    except ImportError:
        return None


def wait_seconds(environment: Mapping[str, str]) -> float:
    """DEEPTEMPO_DATABASE_WAIT (seconds, 0 to 3600), else DEFAULT_WAIT_SECONDS; checked by the spec."""
    value = environment.get(DATABASE_WAIT_VARIABLE) or ""
    return float(value) if value.isascii() and value.isdigit() and len(value) <= 4 else DEFAULT_WAIT_SECONDS


def wait_for_login(login: DatabaseLogin, seconds: float, postgres: ModuleType) -> float:
    """Log in until it works (the seconds it took), raising UnavailableError (69) when the server never
    answered within `seconds`, ConfigError (78) as soon as it refuses the login."""
    started = time.monotonic()
    deadline = started + seconds
    last = "no answer"
    while True:
        try:
            connection = postgres.connect(host=login.host, port=login.port, dbname=login.database, user=login.user,
                                          password=login.password, sslmode=login.ssl_mode, connect_timeout=CONNECT_SECONDS)
        except postgres.OperationalError as exc:
            message = str(exc)
            refusal = next(((setting, why) for needle, setting, why in REFUSALS if needle in message), None)
            if refusal and not any(needle in message for needle in NOT_YET):
                setting, why = refusal
                raise ConfigError(f"{setting}: {why} (logging in as the backend will, to {login.where}); the backend "
                                  "would fall back to JSON files") from None
            last = "it refuses connections" if "refused" in message else "no answer"
        else:
            connection.close()
            return time.monotonic() - started
        if time.monotonic() + RETRY_SECONDS > deadline:
            raise UnavailableError(f"POSTGRES_HOST: the database at {login.where} did not accept a login within "
                                   f"{seconds:.0f} s ({last}); is it running and reachable from here? "
                                   f"({DATABASE_WAIT_VARIABLE} sets how long serve waits)")
        time.sleep(RETRY_SECONDS)
