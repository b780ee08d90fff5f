"""The platform-neutral workload: what a manifest of any platform says about the one service.

Each platform's loader turns its manifest (a Compose service, a Kubernetes pod template, an ECS
container definition, a systemd unit) into Workloads; the shared rules (platforms/rules.py) judge them.
A loader fills what its platform can say and leaves the rest None: unknown, not false, so a rule about
something a platform cannot express is never applied to it."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from deeptempo_entrypoint.constants import DATA_BACKEND_VARIABLE, DATABASE_HOST_VARIABLE, DATABASE_STORAGE
from deeptempo_entrypoint.findings import Where

# How a mount is backed: where its data lives and whether the container may write it.
TMPFS = "tmpfs"  # Compose tmpfs, a Kubernetes emptyDir (medium Memory or not), systemd PrivateTmp
VOLUME = "volume"  # a named volume, a persistentVolumeClaim, an ECS task volume, a systemd StateDirectory
SECRET_FILES = "secret-files"  # a Kubernetes Secret volume, Compose secrets
HOST_PATH = "host-path"  # a directory or file of the host (Compose bind, hostPath, ECS host.sourcePath, BindPaths)
OTHER = "other"

# What a workload is to the deployment: the DeepTempo service, the PostgreSQL it stores its data in, or a
# test that asks the service once and exits (a Helm chart's `helm test` hook).
APP = "app"
DATABASE = "database"
TEST = "test"


@dataclass(frozen=True)
class Mount:
    path: str  # inside the container
    backing: str  # TMPFS, VOLUME, SECRET_FILES, HOST_PATH or OTHER
    source: str | None = None  # the volume's, Secret's or host path's name
    writable: bool = True
    # For SECRET_FILES: False when a changed secret never reaches the running container (a subPath
    # mount, a file bind-mounted alone), with the platform's fix; None when it does or is unknown.
    stale_on_change: str | None = None


@dataclass(frozen=True)
class PublishedPort:
    """A port the platform opens on the host: `bind_address` None means every interface."""

    container_port: int | None
    host_port: str | None
    bind_address: str | None


@dataclass(frozen=True)
class HealthProbe:
    """A health probe: an HTTP GET (`path`, `port`) or a command whose URL was read out of it (both None
    when it names no URL)."""

    name: str  # readinessProbe, livenessProbe, healthcheck, healthCheck
    path: str | None
    port: int | None


@dataclass(frozen=True)
class EnvironmentEntry:
    """One variable the manifest sets: a literal written in it (`literal`), or a reference to
    something else (`reference`: `${VAR}`, a secretKeyRef, a valueFrom)."""

    name: str
    literal: str | None = field(default=None, repr=False)  # may be a pasted secret: never in repr
    reference: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class ManifestText:
    """A string the manifest gives a process, or publishes about the workload, beyond the service
    container's own environment (Workload.environment): a variable of another container (an init
    container, a sidecar, another Compose service, a non-essential ECS container), a value of a ConfigMap
    a container takes, a word of a command, arguments or entry point, a probe's or hook's command or
    header, an annotation, a label, a log option, a build argument. A secret's shape anywhere in it is a
    literal secret; where it becomes an environment variable (`variable`), that name is judged as well."""

    place: str  # what holds it, as a person finds it in the manifest: "command", "annotation a/b", "env TOKEN"
    text: str = field(repr=False)  # may be a pasted secret: never in repr
    variable: str | None = None
    where: Where | None = None  # another container or service than the workload's own, a line; None: the workload


@dataclass(frozen=True)
class CarriedValue:
    """A secret value the deployment itself carries (a secretGenerator's env-file, an env-file Compose
    read): validated against the spec as `check` would validate it in the container."""

    name: str
    value: str = field(repr=False)
    origin: str  # "secrets.env line 3": where it is, for the message


@dataclass(frozen=True)
class Resources:
    limits: dict[str, str]
    requests: dict[str, str] | None = None  # None: the platform has no requests (Compose, ECS)


@dataclass
class Workload:
    """The service as one platform's manifest runs it. None: the platform cannot say (unknown)."""

    platform: str
    where: Where
    image: str | None = None
    user: str | None = None  # the uid or user name it runs as; None: not set (the image's)
    non_root_enforced: bool = False  # the platform refuses to start it as root (runAsNonRoot)
    read_only_root: bool | None = None
    mounts: list[Mount] = field(default_factory=list)
    cap_add: list[str] | None = None
    cap_drop: list[str] | None = None
    privilege_escalation: bool | None = None  # True: setuid binaries could gain privileges
    privileged: bool | None = None
    host_network: bool | None = None
    host_pid: bool | None = None
    host_ipc: bool | None = None
    init: bool | None = None  # an init reaps the MCP servers' zombies (the image's tini counts)
    container_ports: list[int] | None = None
    published_ports: list[PublishedPort] | None = None
    probes: list[HealthProbe] | None = None  # None: the platform has no health probe (systemd)
    expected_probes: tuple[str, ...] = ()  # probe names the platform needs (readinessProbe, livenessProbe)
    environment: list[EnvironmentEntry] = field(default_factory=list)
    texts: list[ManifestText] = field(default_factory=list)  # every other string given to a process or published
    secret_routes: dict[str, str] = field(default_factory=dict)  # spec name -> how it reaches the service
    carried_values: list[CarriedValue] = field(default_factory=list)
    resources: Resources | None = None
    # Secrets that reach the environment are fixed for a container's life: what makes the platform roll
    # the containers when they change (a generated name, a checksum annotation); "" when nothing does,
    # None when the platform always starts anew for a change or cannot say.
    rollout_trigger: str | None = None
    environment_secrets: set[str] = field(default_factory=set)  # the spec secrets that arrive as variables
    home: str | None = None  # the service user's home: its ~/.deeptempo must be writable
    data_dir: str | None = None  # the backend's JSON storage, when the platform runs the image's layout
    # The database beside the service is judged by the same rules; what it needs beyond the kit's
    # defaults is written in its manifest, rule id -> why (platforms/judging.py applies them).
    role: str = APP
    exceptions: dict[str, str] = field(default_factory=dict)
    replicas: int | None = None  # how many copies run at once; None: the platform decides elsewhere (an ECS service)
    autoscaled: bool | None = None  # an autoscaler may run more than one
    points_at_database: bool | None = None  # its storage settings name a database; None: a source outside the manifest may

    def mounted(self, path: str) -> Mount | None:
        """The writable mount at `path` or at a directory above it."""
        path = path.rstrip("/")
        for mount in self.mounts:
            base = mount.path.rstrip("/")
            if mount.writable and (path == base or path.startswith(base + "/")):
                return mount
        return None


def storage_target(settings: Mapping[str, str | None], unknown_source: bool = False) -> bool | None:
    """Whether the backend's storage settings, as far as the manifest holds them, name a database:
    DATA_BACKEND database (its default) and a POSTGRES_HOST. None when a source the manifest does not
    hold (an env-file absent here, a ConfigMap made elsewhere) could still set the host."""
    backend = (settings.get(DATA_BACKEND_VARIABLE) or DATABASE_STORAGE).strip().lower()
    if backend != DATABASE_STORAGE:
        return False
    if settings.get(DATABASE_HOST_VARIABLE):
        return True
    return None if unknown_source else False


def database_image(image: str | None) -> bool:
    """Whether an image is a PostgreSQL server's (postgres:15-bookworm, bitnami/postgresql, a local
    stand-in named after it), by the last part of its repository."""
    repository = (image or "").split("@")[0]
    name = repository.rsplit("/", 1)[-1].split(":")[0]
    return "postgres" in name


KIT_NAME = "deeptempo"  # the service, container or unit name every shipped manifest uses


def pick_main(candidates: list[tuple[str, str]], preferred: str | None = None) -> int | None:
    """Which of (name, image) pairs (Compose services, a pod's containers, a task's containers) runs the
    DeepTempo service: the one `preferred` names (--service), else the one named deeptempo, else the
    first whose image names deeptempo, else the only one. None when none of these holds. The same
    answer for verify and local, on every platform."""
    names = [name for name, _ in candidates]
    if preferred is not None:
        return names.index(preferred) if preferred in names else None
    if KIT_NAME in names:
        return names.index(KIT_NAME)
    by_image = next((index for index, (_, image) in enumerate(candidates) if KIT_NAME in (image or "")), None)
    if by_image is not None:
        return by_image
    return 0 if len(candidates) == 1 else None


_PROBE_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost|\[::1\]|0\.0\.0\.0)(?::(?P<port>\d+))?(?P<path>/[^\s'\"),;]*)?")


def command_probe(name: str, command: list[str] | str) -> HealthProbe:
    """A probe that runs a command: the URL it asks of the container itself, read out of the command
    (python -c "...urlopen('http://127.0.0.1:6987/api/health')", curl, wget)."""
    text = command if isinstance(command, str) else " ".join(map(str, command))
    match = _PROBE_URL.search(text)
    if not match:
        return HealthProbe(name, None, None)
    return HealthProbe(name, match["path"] or "/", int(match["port"]) if match["port"] else 80)
