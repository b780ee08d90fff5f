"""testcontainers for images built from the DeepTempo kit: a team's own API tests against its own
image, with its own secrets, in CI.

`DeepTempoContainer` starts the kit's image or any image built FROM it (the DeepTempo backend's
included), with secrets delivered the ways the platforms deliver them: as files in the secrets
directory (`/run/secrets`, Docker and Compose secrets, a Kubernetes Secret volume; the default), as
`NAME_FILE` variables naming mounted files (the official images' convention), or as environment
variables (`docker run -e`, which `docker inspect` shows). `start()` returns once `serve` answers its
health path with 200; a container that exits 78 (a secret missing or invalid) raises StartRefused
with the kit's findings from its log, never a value. `with_database()` wires a PostgreSQL container on
a network the two share (POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DB, POSTGRES_USER, and
POSTGRES_PASSWORD delivered like the other secrets).

    from deeptempo_deploy.testing import DatabaseContainer, DeepTempoContainer

    with DatabaseContainer() as database, DeepTempoContainer("my-soc:ci").with_secret(
            "CLAUDE_API_KEY", key).with_database(database) as soc:
        answer = urllib.request.urlopen(soc.url("/api/health"))

Installed with the `testing` extra (`pip install './deploy[testing]'`); pytest fixtures built on it are in
deeptempo_deploy.testing.fixtures, loaded only when a conftest asks for them. Containers publish their
ports on 127.0.0.1 only."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Literal, Self

from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from deeptempo_deploy.redaction import Redactor
from deeptempo_entrypoint.constants import DEFAULT_PORT, DEFAULT_SECRETS_DIR, EXIT_CONFIG, FILE_SUFFIX, HEALTH_PATH

Delivery = Literal["files", "file-variable", "environment"]
DELIVERIES: tuple[Delivery, ...] = ("files", "file-variable", "environment")
FILES_DIR = "/run/deeptempo-secrets"  # where `file-variable` mounts the files its NAME_FILE variables name
DATABASE_ALIAS = "postgres"  # the database's name on the network it shares with the service
POSTGRES_IMAGE = "postgres:15-bookworm"  # the major version the kit's tests prove
LOG_TAIL_LINES = 30


class StartRefused(Exception):
    """The container exited 78: its configuration is refused. `findings` are the kit's lines naming each
    secret or setting and the problem (the service's log, masked)."""

    def __init__(self, image: str, findings: list[str]) -> None:
        super().__init__(f"{image} refused to start (exit {EXIT_CONFIG}):\n" + "\n".join(findings))
        self.findings = findings


class NotHealthy(Exception):
    """The service neither answered its health path with 200 in time nor refused its configuration."""


class DeepTempoContainer(DockerContainer):
    def __init__(self, image: str, *, delivery: Delivery = "files", port: int = DEFAULT_PORT,
                 health_path: str = HEALTH_PATH, labels: Mapping[str, str] | None = None, **docker: Any) -> None:
        """`docker`: docker's own run options (read_only=True, cap_drop=["ALL"], ...)."""
        if delivery not in DELIVERIES:
            raise ValueError(f"delivery must be one of {', '.join(DELIVERIES)}")
        super().__init__(image, labels=dict(labels or {}), **docker)
        self.delivery = delivery
        self.port = port
        self.health_path = health_path
        self.secrets: dict[str, str] = {}
        self.redactor = Redactor()  # what this container is given is masked in everything it reports
        self.secrets_dir: str | None = None
        self.started = False
        self.ports[str(port)] = ("127.0.0.1",)  # type: ignore[assignment]  # published on the loopback only

    def __repr__(self) -> str:
        """The image and how secrets are delivered; never the environment (it may hold them)."""
        return f"DeepTempoContainer({self.image!r}, delivery={self.delivery!r}, secrets={sorted(self.secrets)})"

    def with_secret(self, name: str, value: str) -> Self:
        self.secrets[name] = value
        self.redactor.remember(value)
        return self

    def with_secrets(self, secrets: Mapping[str, str]) -> Self:
        for name, value in secrets.items():
            self.with_secret(name, value)
        return self

    def with_setting(self, name: str, value: str) -> Self:
        """A setting (not a secret): an environment variable."""
        return self.with_env(name, value)

    def with_database(self, database: DatabaseContainer) -> Self:
        """The backend's storage settings for `database` (on the network it brings, under
        DATABASE_ALIAS), its password as a secret delivered like the others."""
        self.with_network(database.network)
        for name, value in {"POSTGRES_HOST": DATABASE_ALIAS, "POSTGRES_PORT": "5432", "POSTGRES_DB": database.dbname,
                            "POSTGRES_USER": database.username, "DATA_BACKEND": "database"}.items():
            self.with_env(name, value)
        return self.with_secret("POSTGRES_PASSWORD", database.password)

    def start(self, timeout: float = 120, on_started: Callable[[Self], None] | None = None) -> Self:
        """Start it and wait until it is healthy; on StartRefused or NotHealthy the container is removed
        (its log is in the exception). `on_started` is called once it runs, before the wait (to attach a
        tracer to its processes, say)."""
        self._deliver_secrets()
        super().start()
        self.started = True
        try:
            if on_started is not None:
                on_started(self)
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        """Remove the container (and its anonymous volumes) and its secrets' files, once."""
        try:
            if self.started:
                self.started = False
                super().stop(force=force, delete_volume=delete_volume)
        finally:
            if self.secrets_dir:
                shutil.rmtree(self.secrets_dir, ignore_errors=True)
                self.secrets_dir = None

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def url(self, path: str = "/") -> str:
        """http://127.0.0.1:PORT/path on the published port."""
        return f"http://127.0.0.1:{self.get_exposed_port(self.port)}{path}"

    def logs(self) -> str:
        """The container's log (stdout and stderr), each value it was given masked."""
        out, err = self.get_logs()
        return self.redactor.mask((out + err).decode(errors="replace"))

    def wait_healthy(self, timeout: float = 120) -> float:
        """Seconds until the health path answered 200; StartRefused on exit 78, NotHealthy otherwise."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            container = self.get_wrapped_container()
            container.reload()
            if container.status in ("exited", "dead"):
                code = container.attrs["State"]["ExitCode"]
                if code == EXIT_CONFIG:
                    raise StartRefused(self.image, refusal_lines(self.logs()))
                raise NotHealthy(f"{self.image} exited {code} before turning healthy; its last log lines:\n{self._tail()}")
            if self._answers():
                return time.monotonic() - started
            time.sleep(0.25)
        raise NotHealthy(f"{self.image}: {self.health_path} did not answer 200 within {timeout:.0f} s; its last log "
                         f"lines:\n{self._tail()}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url(self.health_path), timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _tail(self) -> str:
        return "\n".join(self.logs().splitlines()[-LOG_TAIL_LINES:])

    def _deliver_secrets(self) -> None:
        if self.delivery == "environment":
            for name, value in self.secrets.items():
                self.with_env(name, value)
            return
        # Readable by the image's non-root user (uid 10001), writable by nobody but this process's user.
        self.secrets_dir = tempfile.mkdtemp(prefix="deeptempo-test-secrets-")
        os.chmod(self.secrets_dir, 0o755)
        for name, value in self.secrets.items():
            path = os.path.join(self.secrets_dir, name)
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(value)
            os.chmod(path, 0o644)
        if self.delivery == "files":
            self.with_volume_mapping(self.secrets_dir, DEFAULT_SECRETS_DIR, "ro")
            return
        self.with_volume_mapping(self.secrets_dir, FILES_DIR, "ro")
        for name in self.secrets:
            self.with_env(name + FILE_SUFFIX, f"{FILES_DIR}/{name}")


def refusal_lines(log: str) -> list[str]:
    """The kit's refusal in a log: its title and the lines that name a secret or setting."""
    lines = log.splitlines()
    start = next((index for index, line in enumerate(lines) if "refusing to start" in line), None)
    if start is None:
        return lines[-LOG_TAIL_LINES:]
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        block.append(line)
    return block


class DatabaseContainer(PostgresContainer):
    """A PostgreSQL container (the official image's contract) on a network of its own, or the one
    given, under DATABASE_ALIAS: what DeepTempoContainer.with_database wires. Its password is random
    unless given; it is ready once `psql` logs in. A network it made is removed when it stops."""

    def __init__(self, image: str = POSTGRES_IMAGE, *, network: Network | None = None, password: str | None = None,
                 username: str = "deeptempo", dbname: str = "deeptempo_soc", labels: Mapping[str, str] | None = None) -> None:
        self.labels = dict(labels or {})
        super().__init__(image, username=username, password=password or secrets.token_urlsafe(24), dbname=dbname,
                         driver=None, labels=self.labels)
        self.owns_network = network is None
        self.network_made = False
        self.network = network or Network(docker_network_kw={"labels": self.labels})
        self.with_network(self.network).with_network_aliases(DATABASE_ALIAS)

    def ensure_network(self) -> Network:
        """Its network, made now when it is its own (a service may join it before the database runs)."""
        if self.owns_network and not self.network_made:
            self.network.create()
            self.network_made = True
        return self.network

    def start(self) -> Self:
        self.ensure_network()
        super().start()
        return self

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        try:
            super().stop(force=force, delete_volume=delete_volume)
        finally:
            if self.network_made:
                self.network.remove()
                self.network_made = False
