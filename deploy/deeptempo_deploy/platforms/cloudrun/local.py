"""`local cloudrun SERVICE --secrets ENVFILE|DIR`: the service's serving container run on Docker as Cloud
Run starts an instance: its environment with PORT (and K_SERVICE, K_REVISION, K_CONFIGURATION) set,
each secret volume a directory of its own at its mount path holding the item's file (read-only), each
environment secret resolved once, at the start; healthy when its startup probe's GET answers 200.
An env-file (NAME=value, NAME the variable the secret becomes) or a directory (a file per secret, named
by its Secret Manager name or by that variable) stands in for Secret Manager."""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tempfile
import time
from typing import TYPE_CHECKING

from deeptempo_deploy.platforms.cloudrun import LATEST
from deeptempo_deploy.platforms.cloudrun.load import main_container, pod_spec, secret_volumes
from deeptempo_deploy.platforms.runner import ContainerSpec, DockerRunner, LocalResult, NotHealthy, writable_tmpfs
from deeptempo_deploy.redaction import remember
from deeptempo_entrypoint.constants import FILE_SUFFIX
from deeptempo_entrypoint.errors import ConfigError, EnvFileError

if TYPE_CHECKING:
    from deeptempo_deploy.platforms.cloudrun.load import Document

SECRET_FILE_MODE = 0o444  # Cloud Run's secret files are readable by the container's user, whoever it is


class StandIn:
    """Secret Manager's values for a local run: one value per secret (its `latest`), by the secret's
    name or by the variable it becomes. Values are remembered so every report of the run masks them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.values = _directory_values(path) if os.path.isdir(path) else _env_file_values(path)
        for value in self.values.values():
            remember(value)

    def value(self, secret: str, variable: str | None) -> str:
        for key in (secret.rsplit("/", 1)[-1], variable):
            if key is not None and key in self.values:
                return self.values[key]
        also = f" or {variable}" if variable else ""
        raise ConfigError(f"--secrets {self.path}: no value for secret {secret.rsplit('/', 1)[-1]}{also}")

    def __repr__(self) -> str:
        return f"StandIn({self.path!r}, keys={sorted(self.values)})"


def _env_file_values(path: str) -> dict[str, str]:
    from deeptempo_entrypoint.envfile.reader import parse_env_text
    from deeptempo_entrypoint.textfile import read_text

    parsed = parse_env_text(read_text(path, error=EnvFileError, what="env-file"), path)
    values = {key: value or "" for key, value in parsed.values.items()}
    for value in values.values():
        remember(value)
    if parsed.errors:
        raise EnvFileError("; ".join(parsed.errors))
    return values


def _directory_values(path: str) -> dict[str, str]:
    from deeptempo_entrypoint.textfile import read_text, strip_one_newline

    values = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if os.path.isfile(full) and not name.startswith("."):
            values[name] = strip_one_newline(read_text(full, error=ConfigError, what="secret file"))
    return values


class SecretVolumes:
    """Each secret volume the container mounts, laid out on the host: a private parent directory
    (0700) holding one directory per volume (0755) with its items' files, bind-mounted read-only at
    the volume's mount path, as Cloud Run gives each secret a directory of its own."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="deeptempo-cloudrun-secrets-")
        self.files: dict[str, str] = {}  # secret name -> host file (its one item)
        self.binds: dict[str, dict[str, str]] = {}

    def add(self, volume: str, secret: Document, mount_path: str, stand_in: StandIn, variables: dict[str, str]) -> None:
        directory = os.path.join(self.root, re.sub(r"[^A-Za-z0-9_.-]", "_", volume))
        os.mkdir(directory, 0o755)
        os.chmod(directory, 0o755)
        name = str(secret.get("secretName", ""))
        for item in secret.get("items") or [{"key": LATEST, "path": name.rsplit("/", 1)[-1]}]:
            relative = posixpath.normpath(str(item.get("path", "")))
            if relative.startswith(("/", "..")) or "/" in relative:
                raise ConfigError(f"volume {volume}: item path {item.get('path')} must be a file name in the volume")
            target = os.path.join(directory, relative)
            variable = variables.get(posixpath.join(mount_path, relative))
            write_secret_file(target, stand_in.value(name, variable))
            self.files[name.rsplit("/", 1)[-1]] = target
        self.binds[directory] = {"bind": mount_path, "mode": "ro"}

    def update(self, secret: str, value: str, keep_stat: bool = False) -> None:
        """A new version of `secret`, as a read of Cloud Run's volume returns it. keep_stat: the file is
        rewritten in place with its size and modification time kept, so only its content tells."""
        path = self.files[secret]
        before = os.stat(path)
        if keep_stat and len(value.encode()) != before.st_size:
            raise ValueError("keep_stat needs a new value of the same length")
        os.chmod(path, 0o644)
        with open(path, "r+" if keep_stat else "w", encoding="utf-8") as stream:
            stream.write(value)
            stream.truncate()
        os.chmod(path, SECRET_FILE_MODE)
        if keep_stat:
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def write_secret_file(path: str, value: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(value)
    os.chmod(path, SECRET_FILE_MODE)


class Instance:
    """What Cloud Run makes of the service's serving container: its environment, its secret volumes
    (in `volumes`, removed by remove()) and the probe it waits for."""

    def __init__(self, service: Document, stand_in: StandIn) -> None:
        container = main_container(service)
        if container is None:
            raise ConfigError("service: no container runs the DeepTempo image")
        self.service, self.container = service, container
        ports = [port.get("containerPort") for port in container.get("ports") or [] if isinstance(port, dict)]
        self.port = int(ports[0]) if ports and isinstance(ports[0], int) else 8080
        self.environment = self._environment(stand_in)
        self.volumes = SecretVolumes()
        try:
            self._lay_out(stand_in)
        except BaseException:
            self.volumes.remove()
            raise

    def _environment(self, stand_in: StandIn) -> dict[str, str]:
        name = str((self.service.get("metadata") or {}).get("name", "service"))
        environment = {"PORT": str(self.port), "K_SERVICE": name, "K_CONFIGURATION": name, "K_REVISION": f"{name}-local"}
        for item in self.container.get("env") or []:
            if not isinstance(item, dict):
                continue
            ref = (item.get("valueFrom") or {}).get("secretKeyRef")
            if isinstance(ref, dict):  # resolved once, at the start: it never changes in this instance
                environment[str(item["name"])] = stand_in.value(str(ref.get("name", "")), str(item["name"]))
            else:
                environment[str(item.get("name"))] = str(item.get("value", ""))
        return environment

    def _lay_out(self, stand_in: StandIn) -> None:
        volumes = secret_volumes(self.service)
        empty = {str(volume.get("name")) for volume in pod_spec(self.service).get("volumes") or []
                 if isinstance(volume, dict) and isinstance(volume.get("emptyDir"), dict)}
        # A file's variable: the NAME of a NAME_FILE naming it, to find its value by NAME too.
        variables = {value: key.removesuffix(FILE_SUFFIX) for key, value in self.environment.items() if key.endswith(FILE_SUFFIX)}
        self.tmpfs: dict[str, str] = {}
        for mount in self.container.get("volumeMounts") or []:
            volume, path = str(mount.get("name")), str(mount.get("mountPath", ""))
            if volume in volumes:
                self.volumes.add(volume, volumes[volume], path, stand_in, variables)
            elif volume in empty:
                self.tmpfs[path] = writable_tmpfs()
            else:
                raise ConfigError(f"volume {volume}: only secret and emptyDir volumes can be run locally")

    def probe(self) -> tuple[str, int]:
        for name in ("startupProbe", "livenessProbe"):
            get = (self.container.get(name) or {}).get("httpGet")
            if isinstance(get, dict):
                return str(get.get("path") or "/"), int(get["port"]) if isinstance(get.get("port"), int) else self.port
        raise ConfigError("service: the container has no httpGet startupProbe or livenessProbe to wait for")

    def container_spec(self, image: str | None = None) -> ContainerSpec:
        limits = (self.container.get("resources") or {}).get("limits") or {}
        return ContainerSpec(
            image=image or str(self.container["image"]), environment=self.environment,
            entrypoint=[str(word) for word in self.container.get("command") or []] or None,
            command=[str(word) for word in self.container.get("args") or []] or None,
            volumes=self.volumes.binds, tmpfs=self.tmpfs, publish=(self.port,),
            # Cloud Run ignores the image's HEALTHCHECK: its probes decide.
            healthcheck={"test": ["NONE"]}, mem_limit=_memory(limits.get("memory")))

    def remove(self) -> None:
        self.volumes.remove()


def _memory(limit: object) -> str | None:
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(limit or ""))
    if not match:
        return None
    return match.group(1) + {"Ki": "k", "Mi": "m", "Gi": "g", None: ""}[match.group(2)]


def run_local_cloudrun(service: Document, stand_in: StandIn, image: str | None = None, timeout: float = 90) -> LocalResult:
    instance = Instance(service, stand_in)
    try:
        path, port = instance.probe()
        spec = instance.container_spec(image)
        with DockerRunner("local-cloudrun") as runner:  # SIGTERM unwinds like Ctrl-C from here on: the finally runs
            runner.ensure_image(spec.image)
            started = time.monotonic()
            running = runner.start(spec)
            try:
                running.wait_healthy(timeout, path, port)
            except NotHealthy as exc:
                return LocalResult(False, exc.reason, log_tail=exc.log_tail)
            return LocalResult(True, f"healthy: GET {path} on port {port} -> 200", time.monotonic() - started)
    finally:
        instance.remove()
