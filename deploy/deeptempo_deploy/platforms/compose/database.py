"""Compose's own rules for the database beside the DeepTempo service (the shared rules judge it as well,
platforms/judging.py): one password file both containers read, its data on a named volume, a network
only the two share and no published port, a health check on the real server, and the service started
after it. A pure function of the documents `docker compose config` prints, and of the password file's
owner and mode when that file is on the verifying machine."""

import os
import stat
from collections.abc import Iterator, Mapping
from typing import Any

from deeptempo_deploy.platforms.model import DATABASE, HOST_PATH, TMPFS, VOLUME, Workload
from deeptempo_entrypoint.constants import SERVICE_UID
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding

Document = Mapping[str, Any]
PASSWORD = "POSTGRES_PASSWORD"
PASSWORD_FILE = "POSTGRES_PASSWORD_FILE"
DEFAULT_PGDATA = "/var/lib/postgresql/data"
# The one arrangement of the shared password file that both containers can read and neither can change:
# root's, the service's group (the database gets it as a supplementary group), read-only for both.
SHARED_FILE_MODE = 0o440


def database_findings(interpolated: Document, app: str, workloads: Mapping[str, Workload]) -> list[Finding]:
    services = interpolated.get("services") or {}
    found: list[Finding] = []
    for name, workload in workloads.items():
        if workload.role != DATABASE:
            continue
        database = Database(name, services[name] or {}, workload)
        found += password_findings(interpolated, database, app, workloads[app])
        found += storage_findings(database)
        found += network_findings(services, database, app)
        found += probe_findings(database)
        found += order_findings(services[app] or {}, database, workloads[app])
    return found


class Database:
    """A database service as `up` runs it, with its workload (where its findings are)."""

    def __init__(self, name: str, run: Document, workload: Workload) -> None:
        self.name, self.run, self.workload = name, run, workload
        self.environment: Mapping[str, Any] = run.get("environment") or {}

    def finding(self, rule: str, message: str, level: str = ERROR) -> Finding:
        return Finding(None, level, message, rule, self.workload.where)


def _secret_at(run: Document, path: str) -> str | None:
    """The Compose secret a service mounts at `path`, by its source name."""
    for secret in run.get("secrets") or []:
        target = secret.get("target") or secret.get("source") or ""
        if (target if target.startswith("/") else f"/run/secrets/{target}") == path:
            return str(secret.get("source"))
    return None


def _group_of(user: object) -> int:
    """The primary group of a `user:` value ("10001:10001"); the service's own when it names none."""
    group = str(user or "").partition(":")[2] or str(user or "")
    return int(group) if group.isdigit() else SERVICE_UID


# --- one password file ----------------------------------------------------------------------------------

def password_findings(interpolated: Document, database: Database, app: str, service: Workload) -> Iterator[Finding]:
    """The database's password is the file the service reads POSTGRES_PASSWORD from, readable by both."""
    path = database.environment.get(PASSWORD_FILE)
    secret = _secret_at(database.run, str(path)) if path else None
    if secret is None:
        given = "in POSTGRES_PASSWORD" if database.environment.get(PASSWORD) else "from nowhere"
        yield database.finding("database-password", f"takes its password {given}, not from the file the service reads: "
                                                    f"set {PASSWORD_FILE}=/run/secrets/postgres_password and mount the "
                                                    f"secret postgres_password in both services")
        return
    route = service.secret_routes.get(PASSWORD)
    if route != f"secret {secret}":
        yield database.finding("database-password", f"reads its password from the secret {secret}, while service {app} "
                                                    f"takes POSTGRES_PASSWORD from {route or 'nowhere'}: mount {secret} in "
                                                    f"{app} too and keep POSTGRES_PASSWORD out of its environment and "
                                                    "env-file, so both read one value")
    group = _group_of((interpolated["services"][app] or {}).get("user"))
    user = str(database.run.get("user") or "0").partition(":")[0]
    groups = {str(item) for item in database.run.get("group_add") or []} | {str(_group_of(database.run.get("user")))}
    if user not in ("0", "root") and str(group) not in groups:
        yield database.finding("database-password", f"runs as {database.run.get('user')} without group {group}: it cannot "
                                                    f"read the password file (root:{group}, mode 0440) that the service "
                                                    f"reads; add group_add: [\"{group}\"]")
    yield from _file_findings(database, ((interpolated.get("secrets") or {}).get(secret) or {}).get("file"), group)


def _file_findings(database: Database, path: object, group: int) -> Iterator[Finding]:
    """The host file behind the secret, when it is on this machine: exactly root:GROUP, mode 0440."""
    if not isinstance(path, str) or not os.path.isfile(path):
        return
    info = os.stat(path)
    mode = stat.S_IMODE(info.st_mode)
    if (info.st_uid, info.st_gid, mode) != (0, group, SHARED_FILE_MODE):
        yield database.finding("database-password", f"the password file {path} is uid {info.st_uid}, gid {info.st_gid}, "
                                                    f"mode {mode:04o}; both containers read it only as root:{group} 0440 "
                                                    f"(the service as group {group}, the database through group_add): "
                                                    f"sudo chown root:{group} {path} && sudo chmod 0440 {path}")


# --- data, network, probe, order --------------------------------------------------------------------------

def storage_findings(database: Database) -> Iterator[Finding]:
    """PGDATA on a named volume (or a host directory): a tmpfs loses the database at every restart, and the
    image's anonymous volume at `down -v` or a new project name."""
    pgdata = str(database.environment.get("PGDATA") or DEFAULT_PGDATA)
    mount = database.workload.mounted(pgdata)
    if mount is None:
        yield database.finding("database-storage", f"nothing is mounted at {pgdata}: the data lives in an anonymous "
                                                   "volume; mount a named volume there", level=WARNING)
    elif mount.backing == TMPFS:
        yield database.finding("database-storage", f"{pgdata} is a tmpfs: the database is lost at every restart; mount "
                                                   "a named volume there")
    elif mount.backing not in (VOLUME, HOST_PATH):
        yield database.finding("database-storage", f"{pgdata} is on a {mount.backing} mount; mount a named volume there",
                               level=WARNING)


def network_findings(services: Document, database: Database, app: str) -> Iterator[Finding]:
    """Reached by the service alone: no published port, a network that only the two join."""
    if database.run.get("ports"):
        yield database.finding("database-network", "publishes a port on the host: only the service needs the database, "
                                                   "over their shared network; remove ports", level=WARNING)
    mine = set(database.run.get("networks") or {"default": None})
    shared = mine & set((services[app] or {}).get("networks") or {"default": None})
    if not shared:
        yield database.finding("database-network", f"shares no network with service {app}, which cannot reach it")
        return
    others = sorted(name for name, run in services.items() if name not in (app, database.name)
                    and set((run or {}).get("networks") or {"default": None}) & mine)
    if others:
        yield database.finding("database-network", f"is on a network that {', '.join(others)} also join: give the "
                                                   f"database a network only {app} shares", level=WARNING)


def probe_findings(database: Database) -> Iterator[Finding]:
    """A health check that asks the real server: pg_isready over TCP (the entrypoint's temporary server
    while it initialises a fresh volume answers on the unix socket only)."""
    check = database.run.get("healthcheck") or {}
    test = check.get("test") or []
    text = " ".join(map(str, test)) if isinstance(test, list) else str(test)
    if check.get("disable") or not test or test == ["NONE"]:
        yield database.finding("database-probe", "has no health check, so `depends_on: condition: service_healthy` "
                                                 "cannot wait for it; probe pg_isready -h 127.0.0.1")
    elif "pg_isready" in text and " -h" not in f" {text}":
        yield database.finding("database-probe", "pg_isready without -h asks the unix socket, where the temporary "
                                                 "server of a first start answers before the database is ready; add "
                                                 "-h 127.0.0.1", level=WARNING)


def order_findings(app_run: Document, database: Database, service: Workload) -> Iterator[Finding]:
    """The service starts once the database is healthy: the backend connects once, at its start."""
    condition = ((app_run.get("depends_on") or {}).get(database.name) or {}).get("condition")
    if condition != "service_healthy":
        yield Finding(None, WARNING, f"does not wait for {database.name} to be healthy: the backend connects once, at "
                                     f"its start; add depends_on: {database.name}: condition: service_healthy",
                      "database-order", service.where)
