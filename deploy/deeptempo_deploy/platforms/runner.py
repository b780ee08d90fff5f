"""The one Docker runner of `smoke`, every `local` and the project's own container tests: start a
container, wait for its health check, read its logs, stop it, and remove everything it started, on
Ctrl-C and SIGTERM too. Containers publish ports on 127.0.0.1 only and carry the label below, so
anything left by a killed run can be found with `docker ps -a --filter label=io.deeptempo.deploy`."""


from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deeptempo_entrypoint.constants import DEFAULT_PORT, EXIT_INTERRUPTED, HEALTH_PATH
from deeptempo_entrypoint.errors import ConfigError, UnavailableError

if TYPE_CHECKING:
    from typing import Any

LABEL = "io.deeptempo.deploy"
# An extra label on everything a run starts, so that runs sharing an engine (two CI jobs) find and
# remove only their own: `DEEPTEMPO_RUN_LABEL=job-42 deeptempo-deploy smoke ...`.
RUN_LABEL = "io.deeptempo.run"
RUN_LABEL_VARIABLE = "DEEPTEMPO_RUN_LABEL"
LOOPBACK = "127.0.0.1"
# Probe the image's own health check often, so "healthy" follows the first 200 within half a second.
# How long `local` and `smoke` wait for a container by default, on every platform: the database wait
# serve allows (60 s) plus the real backend's slowest measured start, as the Kubernetes startup budget.
DEFAULT_TIMEOUT_SECONDS = 120.0
FAST_HEALTHCHECK = {"interval": 500_000_000, "timeout": 2_000_000_000, "retries": 3, "start_period": 0}


@dataclass
class HookResult:
    """How one test hook (a chart's `helm test` pod) ended, run beside the ready service."""

    name: str  # "Pod deeptempo-test-connection"
    exit_code: int | None  # None: it had not ended within the time it was given
    seconds: float = 0.0
    log_tail: str = ""

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


@dataclass
class LocalResult:
    """How a `local` run ended: ready or not, why, the container's last log lines, and the test hooks run
    once it was ready (a chart's)."""

    ready: bool
    reason: str
    seconds: float = 0.0
    log_tail: str = ""
    warnings: list[str] = field(default_factory=list)  # about the input (a misspelt key), never a value
    tests: list[HookResult] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Ready, and every test hook passed: what the exit code says."""
        return self.ready and all(test.passed for test in self.tests)


class NotHealthy(Exception):
    """The container did not turn healthy; `reason` says why, `log_tail` is its last log lines."""

    def __init__(self, reason: str, log_tail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.log_tail = log_tail


@dataclass
class ContainerSpec:
    """How to run one container: what `docker run` options would say. Values of `environment` may be
    secrets: they reach the engine's API only, never an argv or a message."""

    image: str
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str] = field(default_factory=dict, repr=False)
    user: str | None = None
    read_only: bool = False
    tmpfs: dict[str, str] = field(default_factory=dict)
    cap_drop: list[str] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    security_opt: list[str] = field(default_factory=list)
    init: bool | None = None
    volumes: dict[str, dict[str, str]] = field(default_factory=dict)  # host path -> {"bind": path, "mode": "ro"}
    publish: tuple[int, ...] = (DEFAULT_PORT,)  # container ports published on 127.0.0.1, random host ports
    healthcheck: dict[str, Any] | None = field(default_factory=lambda: dict(FAST_HEALTHCHECK))
    mem_limit: str | None = None
    # A network of the run's own (DockerRunner.network) and the names the container answers to on it
    # (a Kubernetes Service's name, a Compose service's).
    network: str | None = None
    aliases: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # any other docker SDK `containers.create` argument


def writable_tmpfs(user: object = None, group: object = None, size: str | None = None) -> str:
    """tmpfs options for a directory the container's user must write: Docker gives a tmpfs mounted over
    an image directory that directory's owner and mode, so ownership is set explicitly."""
    options = ["rw", "nosuid", "nodev", "mode=0770"]
    if user is not None:
        options.append(f"uid={user}")
    if group is not None:
        options.append(f"gid={group}")
    if size:
        options.append(f"size={size}")
    return ",".join(options)


def numeric_user(user: str | None) -> tuple[str | None, str | None]:
    """(uid, gid) from a `docker run --user` form ("10001:10001", "10001"); None parts when not numeric."""
    uid, _, gid = (user or "").partition(":")
    return (uid if uid.isdigit() else None), (gid if gid.isdigit() else (uid if uid.isdigit() else None))


def _answer(status: int | None, path: str | None, port: int) -> str:
    """What the health path last answered, in words that say which setting to look at."""
    if status is None or path is None:
        return ""
    if status == 0:
        return f"; nothing answers on port {port} (does the app listen there? --port)"
    if status == 200:
        return f"; GET {path} on port {port} answers 200"
    return f"; GET {path} on port {port} answers {status} (is that the health path? --health-path)"


class RunningContainer:
    def __init__(self, container: Any, spec: ContainerSpec) -> None:
        self._container = container
        self.spec = spec

    @property
    def id(self) -> str:
        return str(self._container.id)

    @property
    def name(self) -> str:
        return str(self._container.name)

    def inspect(self) -> dict[str, Any]:
        self._container.reload()
        attrs: dict[str, Any] = self._container.attrs
        return attrs

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.inspect()["State"]
        return state

    def host_port(self, container_port: int = DEFAULT_PORT) -> int:
        bindings = (self.inspect()["NetworkSettings"]["Ports"] or {}).get(f"{container_port}/tcp") or []
        if not bindings:
            raise ConfigError(f"container port {container_port} is not published")
        return int(bindings[0]["HostPort"])

    def logs(self) -> str:
        return bytes(self._container.logs()).decode("utf-8", errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])

    def exec(self, argv: list[str], environment: dict[str, str] | None = None) -> tuple[int, str]:
        """Run `argv` in the container; values to hand it go in `environment`, never on argv."""
        result = self._container.exec_run(argv, environment=environment)
        return result.exit_code, result.output.decode("utf-8", errors="replace")

    def get(self, path: str = HEALTH_PATH, port: int = DEFAULT_PORT, timeout: float = 3) -> tuple[int, str]:
        """GET a path through the port published on 127.0.0.1: (status, body); status 0 when unreachable."""
        url = f"http://{LOOPBACK}:{self.host_port(port)}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.status, response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, ""
        except (urllib.error.URLError, OSError):
            return 0, ""

    def wait_healthy(self, timeout: float = 60, path: str | None = HEALTH_PATH, port: int = DEFAULT_PORT) -> float:
        """Seconds until the health check passes: the container's own health check when it has one,
        and a 200 on `path` through the published port (path None: the health check alone decides).
        Raises NotHealthy with the reason."""
        started = time.monotonic()
        status = None  # the health path's last answer: which of port and path is wrong, when it never passes
        while True:
            state = self.state()
            if state["Status"] not in ("created", "running"):
                raise NotHealthy(f"the container exited with code {state['ExitCode']} before it was healthy", self.log_tail())
            health = (state.get("Health") or {}).get("Status")
            if health == "unhealthy":
                raise NotHealthy("the container's health check reports unhealthy" + _answer(status, path, port), self.log_tail())
            if path is None and health is None:
                raise NotHealthy("the container has no health check to wait for", self.log_tail())
            if path is not None and port in self.spec.publish:
                status = self.get(path, port, timeout=2)[0]
            answers = path is None or port not in self.spec.publish or status == 200
            if health in (None, "healthy") and answers:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise NotHealthy(f"not healthy within {timeout:g} s: its health check is {health or 'absent'}"
                                 + _answer(status, path, port), self.log_tail())
            time.sleep(0.2)

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or None when it still runs after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state()
            if state["Status"] in ("exited", "dead"):
                return int(state["ExitCode"])
            time.sleep(0.2)
        return None

    def stop(self, timeout: int = 10) -> tuple[float, int]:
        """`docker stop`: (seconds it took, exit code)."""
        started = time.monotonic()
        self._container.stop(timeout=timeout)
        elapsed = time.monotonic() - started
        return elapsed, self.state()["ExitCode"]

    def remove(self) -> None:
        from docker.errors import NotFound

        try:
            self._container.remove(force=True, v=True)
        except NotFound:
            pass


class DockerRunner:
    """Use as a context manager: whatever it started is removed at exit, however the block ends."""

    def __init__(self, purpose: str = "run", client: Any = None) -> None:
        self.purpose = purpose
        self.client = client or connect()
        self.started: list[RunningContainer] = []
        self.networks: list[Any] = []
        self._previous_sigterm: Any = None

    def __enter__(self) -> "DockerRunner":
        # SIGTERM (a CI job cancelled) unwinds like Ctrl-C, so the cleanup below runs.
        self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: object) -> None:
        signal.signal(signal.SIGTERM, self._previous_sigterm or signal.SIG_DFL)
        try:
            self.remove_all()
        except Exception as cleanup_error:  # noqa: BLE001 - the engine went away: say so, and what may be left
            if exc is None or not _is_engine_error(exc):
                exc = cleanup_error
        if exc is not None and _is_engine_error(exc):
            left = ", ".join([container.name for container in self.started] + [str(network.name) for network in self.networks])
            raise UnavailableError(f"the Docker engine stopped answering ({_short(exc)})"
                                   + (f"; containers that may be left: {left}" if left else "")) from None

    def ensure_image(self, image: str) -> dict[str, Any]:
        from docker.errors import ImageNotFound

        try:
            attrs: dict[str, Any] = self.client.images.get(image).attrs
            return attrs
        except ImageNotFound:
            raise ConfigError(f"image {image}: not found on the Docker engine (build or pull it first)") from None

    def network(self) -> str:
        """A bridge network of this run's own (labelled, removed with its containers), on which the
        containers started with it reach each other by their aliases."""
        network = self.client.networks.create(f"deeptempo-{self.purpose}-{uuid.uuid4().hex[:10]}", driver="bridge",
                                              labels=run_labels(self.purpose))
        self.networks.append(network)
        return str(network.name)

    def start(self, spec: ContainerSpec) -> RunningContainer:
        arguments = dict(
            image=spec.image, command=spec.command, entrypoint=spec.entrypoint, environment=spec.environment,
            user=spec.user, read_only=spec.read_only, tmpfs=spec.tmpfs or None, cap_drop=spec.cap_drop or None,
            cap_add=spec.cap_add or None, security_opt=spec.security_opt or None, init=spec.init,
            volumes=spec.volumes or None, ports={f"{port}/tcp": (LOOPBACK,) for port in spec.publish} or None,
            healthcheck=spec.healthcheck, mem_limit=spec.mem_limit, detach=True,
            name=f"deeptempo-{self.purpose}-{uuid.uuid4().hex[:10]}", labels=run_labels(self.purpose), **spec.extra)
        if spec.network:
            arguments["network"] = spec.network
            arguments["networking_config"] = {spec.network: self.client.api.create_endpoint_config(aliases=list(spec.aliases))}
        container = RunningContainer(self.client.containers.create(**_without_none(arguments)), spec)
        self.started.append(container)  # before start: a failed start is cleaned up too
        container._container.start()
        return container

    def remove_all(self) -> None:
        from docker.errors import NotFound

        while self.started:
            self.started[-1].remove()
            self.started.pop()
        while self.networks:  # after the containers: a network in use cannot be removed
            try:
                self.networks[-1].remove()
            except NotFound:
                pass
            self.networks.pop()


def run_labels(purpose: str) -> dict[str, str]:
    import os

    labels = {LABEL: purpose}
    if os.environ.get(RUN_LABEL_VARIABLE):
        labels[RUN_LABEL] = os.environ[RUN_LABEL_VARIABLE]
    return labels


def connect() -> Any:
    """A docker SDK client for the engine of DOCKER_HOST (default: the local socket)."""
    try:
        import docker
    except ImportError:
        raise UnavailableError("the docker SDK is missing: pip install 'deeptempo-deploy[deploy]'") from None
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        raise UnavailableError(f"the Docker engine cannot be reached ({_short(exc)})") from None
    return client


def inspect_json(running: RunningContainer) -> str:
    return json.dumps(running.inspect())


def _is_engine_error(exc: BaseException) -> bool:
    """The engine is gone or refused: the docker SDK's errors and the HTTP connection errors beneath it."""
    import requests
    from docker.errors import DockerException, ImageNotFound, NotFound

    if isinstance(exc, (ImageNotFound, NotFound)):
        return False
    return isinstance(exc, (DockerException, requests.exceptions.ConnectionError))


def _without_none(arguments: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in arguments.items() if value is not None}


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(EXIT_INTERRUPTED)
