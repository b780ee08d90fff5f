"""`local k8s OVERLAY --env-file F`: render the overlay with F as its secretGenerator env-file, then
run the pod's main container in Docker the way a kubelet would configure it, and wait for its
readiness probe. What a kubelet does that matters here:

- environment: `envFrom` sources in order (a later one wins a key), then `env` (overriding them);
  `secretKeyRef`/`configMapKeyRef` (an `optional` one may be absent); `$(VAR)` in values, command and
  args expands to a variable defined before it, `$$(VAR)` escapes it; keys that are not variable names
  are skipped.
- securityContext: runAsUser/runAsGroup -> --user, fsGroup -> a supplementary group, read-only root,
  capabilities, allowPrivilegeEscalation: false -> no-new-privileges.
- volumes: emptyDir -> tmpfs; a Secret volume -> files written atomically behind `..data` links,
  mode defaultMode (with group read when fsGroup is set), owned by root and the fsGroup; a volume
  claim (a StatefulSet's volumeClaimTemplates, a persistentVolumeClaim) -> a fresh tmpfs owned by root
  and the fsGroup, group-writable, as a new volume is once the kubelet applied the fsGroup.
- the database beside the service (a workload labelled app.kubernetes.io/component: database, such
  as components/postgresql's StatefulSet) runs first, on a network of the run's own where it answers
  to the names of the Services that select it; the service's pod starts once its readiness probe
  passes (its exec probe as the container's health check), as the backend connects once, at start.
- a Service whose port differs from the pod's it forwards to (`service.port=80` to the pod's 6987): a
  small TCP forwarder (Python, in the service's image) answers to the Service's name on its port and
  forwards to the pod's, as kube-proxy would; a headless Service's name reaches the pod itself.
- a chart's test hooks (pods annotated helm.sh/hook: test) run as `helm test` runs them once the
  service is ready: one after another by their hook weight, on the same network, where the Services'
  names reach the service's pod; each passes when its container exits 0."""


from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from deeptempo_deploy.platforms.k8s.load import Document, PodTemplate, container_port, pod_templates
from deeptempo_deploy.platforms.k8s.manifests import example_stand_ins, generator_env_files, kustomize, rendered_copy
from deeptempo_deploy.platforms.model import APP, DATABASE, TEST
from deeptempo_deploy.platforms.runner import (
    ContainerSpec,
    DockerRunner,
    HookResult,
    LocalResult,
    NotHealthy,
    writable_tmpfs,
)
from deeptempo_deploy.platforms.spec_view import remember_secret_values
from deeptempo_entrypoint.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

VARIABLE_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
REFERENCE = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


def env_file_warnings(keys: Sequence[str]) -> list[str]:
    """A key of --env-file that misspells a name of the spec gets a "did you mean", as the entrypoint's."""
    from deeptempo_entrypoint.sources.base import did_you_mean
    from deeptempo_entrypoint.spec import builtin_spec

    names = [name for entry in builtin_spec() for name in entry.lookup_names]
    return [f"--env-file: {key} is not a name the spec knows; did you mean {close}?" for key in keys
            if key not in names and (close := did_you_mean(key, names))]


def read_stand_in(env_file: str) -> tuple[str, list[str]]:
    """(the env-file's text, warnings about its keys): read once (`<(...)` is a pipe; FIFOs refused), its
    values remembered so every report of this run masks them (the log tail too)."""
    from deeptempo_entrypoint.envfile.reader import parse_env_text
    from deeptempo_entrypoint.errors import EnvFileError
    from deeptempo_entrypoint.textfile import read_text

    text = read_text(env_file, error=EnvFileError, what="env-file")
    parsed = parse_env_text(text, env_file)
    remember_secret_values(parsed.values)
    if parsed.errors:
        raise EnvFileError("; ".join(parsed.errors))
    return text, env_file_warnings(list(parsed.values))


def render_overlay(overlay: str, env_file: str) -> tuple[list[Document], str | None, list[str]]:
    """(the rendered documents, the env-file's text when it stands in for a Secret made elsewhere, the
    warnings about its keys)."""
    if not os.path.isdir(overlay):
        raise ConfigError(f"overlay {overlay}: is not a kustomization directory")
    text, warnings = read_stand_in(env_file)
    paths = generator_env_files(overlay)  # the user's --env-file stands in for each
    # A settings file absent here (the production overlay's gitignored database.env) is rendered from its
    # committed .example, as `verify k8s` does, and said.
    settings = [path for path in generator_env_files(overlay, "configMapGenerator") if not os.path.exists(path)]
    examples, _ = example_stand_ins(settings)
    warnings += [f"{path}: absent here; rendered with its .example (copy it and set your values)" for path in settings]
    if not paths and not settings:  # no generator (a pre-created Secret, ESO): the env-file stands in for that Secret
        return kustomize(overlay), text, warnings
    with rendered_copy(overlay, {**examples, **dict.fromkeys(paths, text)}) as copy:
        return kustomize(copy), None if paths else text, warnings


def kubelet_environment(container: Document, documents: Sequence[Document],
                        stand_in_secret_text: str | None = None) -> dict[str, str]:
    """The container's environment exactly as a kubelet builds it, from the rendered objects."""
    objects = {(d.get("kind"), (d.get("metadata") or {}).get("name")): d for d in documents}
    environment = {}

    def data_of(kind: str, name: str, optional: bool) -> dict[str, str]:
        document = objects.get((kind, name))
        if document is None:
            if kind == "Secret" and stand_in_secret_text is not None:
                return _env_text_data(stand_in_secret_text)
            if optional:
                return {}
            raise ConfigError(f"{kind} {name}: referenced by the pod but not in the rendered manifests")
        if kind == "Secret":
            decoded = {key: base64.b64decode(value).decode("utf-8") for key, value in (document.get("data") or {}).items()}
            data = {**decoded, **(document.get("stringData") or {})}
            remember_secret_values(data)  # masked in every report of this run, the log tail too
            return data
        return dict(document.get("data") or {})

    for source in container.get("envFrom") or []:
        for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            ref = source.get(key)
            if ref:
                for name, value in data_of(kind, ref.get("name"), ref.get("optional", False)).items():
                    if VARIABLE_NAME.fullmatch(source.get("prefix", "") + name):
                        environment[source.get("prefix", "") + name] = value
    for variable in container.get("env") or []:
        name = variable["name"]
        if "value" in variable:
            environment[name] = expand(variable.get("value") or "", environment)
            continue
        value_from = variable.get("valueFrom") or {}
        for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
            ref = value_from.get(key)
            if ref:
                data = data_of(kind, ref.get("name"), ref.get("optional", False))
                if ref.get("key") in data:
                    environment[name] = data[ref["key"]]
                elif not ref.get("optional", False):
                    raise ConfigError(f"env {name}: key {ref.get('key')} is not in {kind} {ref.get('name')}")
    return environment


def _env_text_data(text: str) -> dict[str, str]:
    """A Secret made the way `kubectl create secret generic --from-env-file` makes it."""
    from deeptempo_entrypoint.envfile.reader import parse_env_text

    return {key: value for key, value in parse_env_text(text, "--env-file").values.items() if value is not None}


def expand(text: str, environment: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined variables expand, $$ escapes, anything else stays as written."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return environment[name] if name in environment else match.group(0)

    return REFERENCE.sub(replace, text)


class SecretVolume:
    """A Secret volume laid out as a kubelet's atomic writer does, in a host directory to bind-mount:
    item paths confined to the volume (no absolute path, no `..`), the directories private to the
    container's user (0700, 0750 with an fsGroup) when this runs as root and knows that user."""

    def __init__(self, data: Mapping[str, str], default_mode: int, fs_group: int | None,
                 items: Sequence[Document] | None = None, user: int | None = None) -> None:
        files = _volume_files(data, items)
        self.directory = tempfile.mkdtemp(prefix="deeptempo-secret-volume-")
        try:
            self._lay_out(files, default_mode, fs_group, user)
        except BaseException:
            self.remove()
            raise

    def _lay_out(self, files: dict[str, str], default_mode: int, fs_group: int | None, user: int | None) -> None:
        self._owned = os.geteuid() == 0 and user is not None
        self._user, self._fs_group = user, fs_group
        self._mode = (default_mode | (0o440 if fs_group is not None else 0)) & 0o777
        # Without root (or a known user) the container's uid cannot be given the directory: it must
        # then be traversable by others, as a kubelet's is inside its node.
        self._directory_mode = (0o750 if fs_group is not None else 0o700) if self._owned else 0o755
        stamp = self._write_payload(files)
        os.symlink(stamp, os.path.join(self.directory, "..data"))
        for path in {path.split("/")[0] for path in files}:
            os.symlink(os.path.join("..data", path), os.path.join(self.directory, path))
        self._own(self.directory, self._owned, user, fs_group)
        os.chmod(self.directory, self._directory_mode)

    def _write_payload(self, files: Mapping[str, str]) -> str:
        """A new `..<timestamp>` directory holding every file, owned and moded as the kubelet's."""
        stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()) + f"{time.time_ns() % 1_000_000_000:09d}"
        payload = os.path.join(self.directory, stamp)
        os.makedirs(payload, mode=0o700)
        for path, value in files.items():
            target = os.path.join(payload, path)
            os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(value)
            os.chmod(target, self._mode)
        for root, directories, names in os.walk(payload):
            for name in [*directories, *names]:
                self._own(os.path.join(root, name), self._owned, self._user, self._fs_group)
            os.chmod(root, self._directory_mode)
            self._own(root, self._owned, self._user, self._fs_group)
        return stamp

    def update(self, data: Mapping[str, str], items: Sequence[Document] | None = None) -> None:
        """A changed Secret, as the kubelet's atomic writer applies it: a new payload directory, a
        `..data_tmp` link to it renamed over `..data` (one atomic step for every file), the old payload
        removed. The keys stay those of the first layout (a new key would need a new top-level link)."""
        previous = os.readlink(os.path.join(self.directory, "..data"))
        stamp = self._write_payload(_volume_files(data, items))
        temporary = os.path.join(self.directory, "..data_tmp")
        os.symlink(stamp, temporary)
        os.rename(temporary, os.path.join(self.directory, "..data"))
        shutil.rmtree(os.path.join(self.directory, previous), ignore_errors=True)

    @staticmethod
    def _own(path: str, owned: bool, user: int | None, fs_group: int | None) -> None:
        if owned and not os.path.islink(path):
            os.chown(path, user if user is not None else 0, fs_group if fs_group is not None else (user or 0))

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


Objects = dict[tuple[str, str], Document]


def _objects(documents: Sequence[Document]) -> Objects:
    return {(str(d.get("kind")), str((d.get("metadata") or {}).get("name"))): d for d in documents}


class PodRun:
    """What a kubelet makes of one pod template's container: user and groups, volumes, the
    environment, and the probe it waits for. Secret volumes laid out on the host are in `cleanup`."""

    def __init__(self, template: PodTemplate, documents: Sequence[Document], stand_in_secret_text: str | None) -> None:
        self.template = template
        self.container: Document = template.container or {}
        self.objects = _objects(documents)
        self.stand_in = stand_in_secret_text
        pod_context = template.pod_spec.get("securityContext") or {}
        context = self.container.get("securityContext") or {}
        self.context = context
        self.user = context.get("runAsUser", pod_context.get("runAsUser"))
        self.group = context.get("runAsGroup", pod_context.get("runAsGroup"))
        self.fs_group = pod_context.get("fsGroup")
        self.cleanup: list[SecretVolume] = []
        # A StatefulSet's claims by name: each pod gets a fresh volume from its template.
        self.claims = {str((claim.get("metadata") or {}).get("name")): claim for claim in
                       (template.document.get("spec") or {}).get("volumeClaimTemplates") or []}

    def docker_user(self) -> str | None:
        if self.user is None:
            return None
        return f"{self.user}:{self.group}" if self.group is not None else str(self.user)

    def volumes(self) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        """(tmpfs mounts, bind mounts) for the container's volumeMounts."""
        tmpfs, binds = {}, {}
        by_name = {volume["name"]: volume for volume in self.template.pod_spec.get("volumes") or []}
        for mount in self.container.get("volumeMounts") or []:
            volume = by_name.get(mount["name"]) or {}
            if "emptyDir" in volume:
                # A kubelet makes an emptyDir writable by the pod: its fsGroup owns it (else it is 0777).
                size = _tmpfs_size((volume.get("emptyDir") or {}).get("sizeLimit"))
                owner_group = self.fs_group if self.fs_group is not None else self.group
                tmpfs[mount["mountPath"]] = writable_tmpfs(self.user, owner_group, size)
            elif "secret" in volume:
                laid_out = self.secret_volume(volume["secret"] or {})
                binds[laid_out.directory] = {"bind": mount["mountPath"], "mode": "ro"}
            elif mount["name"] in self.claims or "persistentVolumeClaim" in volume:
                tmpfs[mount["mountPath"]] = self.claim_tmpfs(self.claims.get(mount["name"]) or {})
            else:
                raise ConfigError(f"volume {mount['name']}: only emptyDir, secret and claimed volumes can be run locally")
        return tmpfs, binds

    def claim_tmpfs(self, claim: Document) -> str:
        """A new volume as the pod sees it once the kubelet applied the fsGroup: root's, the fsGroup's,
        group-writable with the setgid bit (its data lives as long as the local run)."""
        storage = (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
        size = _tmpfs_size(storage)
        options = ["rw", "nosuid", "nodev", "uid=0", f"gid={self.fs_group if self.fs_group is not None else 0}",
                   "mode=2775" if self.fs_group is not None else "mode=0777"]
        return ",".join(options + ([f"size={size}"] if size else []))

    def secret_volume(self, secret: Document) -> "SecretVolume":
        document = self.objects.get(("Secret", str(secret.get("secretName"))))
        if document is None and self.stand_in is None:
            raise ConfigError(f"Secret {secret.get('secretName')}: mounted by the pod but not in the rendered manifests")
        data = _env_text_data(self.stand_in or "") if document is None else _secret_data(document)
        remember_secret_values(data)
        user = self.user if isinstance(self.user, int) else None
        laid_out = SecretVolume(data, secret.get("defaultMode", 0o644), self.fs_group, secret.get("items"), user)
        self.cleanup.append(laid_out)
        return laid_out

    def container_spec(self, image: str | None, network: str | None = None, aliases: tuple[str, ...] = (),
                       publish: bool = True) -> ContainerSpec:
        environment = kubelet_environment(self.container, list(self.objects.values()), self.stand_in)
        capabilities = self.context.get("capabilities") or {}
        tmpfs, binds = self.volumes()
        return ContainerSpec(
            image=image or self.container["image"], environment=environment, user=self.docker_user(),
            entrypoint=[expand(part, environment) for part in self.container.get("command") or []] or None,
            command=[expand(part, environment) for part in self.container.get("args") or []] or None,
            read_only=self.context.get("readOnlyRootFilesystem") is True, tmpfs=tmpfs, volumes=binds,
            cap_drop=list(capabilities.get("drop") or []), cap_add=list(capabilities.get("add") or []),
            security_opt=["no-new-privileges"] if self.context.get("allowPrivilegeEscalation") is False else [],
            publish=tuple(p["containerPort"] for p in self.container.get("ports") or []) if publish else (),
            # A kubelet ignores the image's HEALTHCHECK: the probe decides (an exec probe is run as one).
            healthcheck=self.exec_readiness() or {"test": ["NONE"]}, network=network, aliases=aliases,
            extra={"group_add": [str(self.fs_group)]} if self.fs_group is not None else {})

    def readiness_command(self) -> list[str]:
        """The exec readinessProbe's command ([] for none)."""
        return [str(part) for part in ((self.container.get("readinessProbe") or {}).get("exec") or {}).get("command") or []]

    def exec_readiness(self) -> dict[str, object] | None:
        """The exec readinessProbe as Docker's health check, probed every second (the startup budget's
        failures allowed first, as a startupProbe would)."""
        command = self.readiness_command()
        if not command:
            return None
        startup = self.container.get("startupProbe") or {}
        budget = int(startup.get("periodSeconds", 10)) * int(startup.get("failureThreshold", 3)) if startup else 0
        timeout = int((self.container.get("readinessProbe") or {}).get("timeoutSeconds", 1))
        return {"test": ["CMD", *command], "interval": 1_000_000_000, "timeout": timeout * 1_000_000_000,
                "retries": 3, "start_period": budget * 1_000_000_000}

    def readiness(self) -> tuple[str | None, int | None]:
        http = (self.container.get("readinessProbe") or {}).get("httpGet") or {}
        return http.get("path"), container_port(self.container, http.get("port"))

    def remove_volumes(self) -> None:
        for volume in self.cleanup:
            volume.remove()


def _volume_files(data: Mapping[str, str], items: Sequence[Document] | None) -> dict[str, str]:
    """{relative path: content}, each path confined to the volume as a kubelet confines it."""
    if not items:
        return dict(data)
    files = {}
    for index, item in enumerate(items):
        path, key = str(item.get("path") or ""), str(item.get("key"))
        parts = path.split("/")
        if not path or path.startswith("/") or ".." in parts or "" in parts:
            raise ConfigError(f"Secret volume items[{index}].path must be a relative path inside the volume, without `..` "
                              "(a kubelet refuses it too)")
        if key not in data:
            raise ConfigError(f"Secret volume items[{index}]: key {key} is not in the Secret")
        files[path] = data[key]
    return files


def _secret_data(document: Document) -> dict[str, str]:
    return {key: base64.b64decode(value).decode("utf-8") for key, value in (document.get("data") or {}).items()}


def _tmpfs_size(limit: object) -> str | None:
    if not limit:
        return None
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(limit))
    if not match:
        return None
    return match.group(1) + {"Ki": "k", "Mi": "m", "Gi": "g", None: ""}[match.group(2)]


def run_local_k8s(overlay: str, env_file: str, image: str | None = None, timeout: float = 60) -> LocalResult:
    documents, stand_in, warnings = render_overlay(overlay, env_file)
    return run_pod(documents, stand_in, warnings, image, timeout, f"overlay {overlay}")


def run_pod(documents: list[Document], stand_in: str | None, warnings: list[str], image: str | None, timeout: float,
            what: str) -> LocalResult:
    """The first pod template's DeepTempo container, run as a kubelet would, until its readiness probe
    passes, after the database pods beside it (if any) are ready, then the test hooks (a chart's): for a
    Kustomize overlay and a Helm chart alike."""
    pod, databases, tests = pod_runs(documents, stand_in, what)
    path, port, exec_probe = readiness_probes(pod, databases, what)
    try:
        with DockerRunner("local-k8s") as runner:  # SIGTERM unwinds like Ctrl-C from here on: the finally runs
            network = runner.network() if databases or tests else None
            # The forwarders' image: the service's, which has Python (a database's image need not).
            pods = PodStarter(runner, documents, network, image or str(pod.container.get("image")), timeout)
            started, ready = time.monotonic(), []
            for database in databases:
                try:
                    pods.start_ready(database)
                except NotHealthy as exc:
                    return LocalResult(False, f"{database.template.kind} {database.template.name}: {exc.reason}",
                                       log_tail=exc.log_tail, warnings=warnings)
                ready.append(f"{database.template.kind} {database.template.name}")
            try:
                if exec_probe is None:
                    pods.start_ready(pod, image, path, port)
                else:
                    pods.start_ready(pod, image)
            except NotHealthy as exc:
                return LocalResult(False, exc.reason, log_tail=exc.log_tail, warnings=warnings)
            beside = f", beside {', '.join(ready)} (ready)" if ready else ""
            seconds = time.monotonic() - started
            # The hooks' image: the one run instead of the service's when they run the service's image.
            results = [run_test_hook(runner, test, image if test.container.get("image") == pod.container.get("image") else None,
                                     network, timeout) for test in tests]
            passed = (f"GET {path} on port {port} -> 200" if exec_probe is None
                      else f"its exec readinessProbe ({' '.join(pod.readiness_command())}) passed")
            return LocalResult(True, f"ready: {passed}{beside}", seconds, warnings=warnings, tests=results)
    finally:
        for run in (pod, *databases, *tests):
            run.remove_volumes()


def pod_runs(documents: list[Document], stand_in: str | None, what: str) -> tuple[PodRun, list[PodRun], list[PodRun]]:
    """(the service's pod, the databases' beside it, the test hooks in Helm's order), each with the probe
    the local run waits for."""
    templates = [template for template in pod_templates(documents) if template.container is not None]
    apps = [template for template in templates if template.role == APP]
    if not apps:
        raise ConfigError(f"{what}: renders no workload with a DeepTempo container")
    pod = PodRun(apps[0], documents, stand_in)
    databases = [PodRun(template, documents, stand_in) for template in templates if template.role == DATABASE]
    readiness_probes(pod, databases, what)
    hooks = sorted((template for template in templates if template.role == TEST),
                   key=lambda template: (hook_weight(template), template.name))
    return pod, databases, [PodRun(template, documents, stand_in) for template in hooks]


class PodStarter:
    """Starts pods on the run's network as the cluster would reach them: each answers to its Services'
    names, or a forwarder does for a Service that maps its port to another of the pod's."""

    def __init__(self, runner: DockerRunner, documents: Sequence[Document], network: str | None, forwarder_image: str,
                 timeout: float) -> None:
        self.runner, self.documents, self.network = runner, documents, network
        self.forwarder_image, self.timeout = forwarder_image, timeout

    def start_ready(self, run: PodRun, image: str | None = None, path: str | None = None, port: int | None = None) -> None:
        """The pod's container, once ready: its HTTP readiness probe on `path` and `port` passes (published
        on 127.0.0.1), or without a path its health check (an exec probe) does. Raises NotHealthy."""
        forwarded = forwarded_services(self.documents, run) if self.network else {}
        spec = run.container_spec(image, self.network, own_names(self.documents, run, forwarded), publish=path is not None)
        self.runner.ensure_image(spec.image)
        running = self.runner.start(spec)
        if path is not None and port is not None:
            running.wait_healthy(self.timeout, path, port)
        else:
            running.wait_healthy(self.timeout, None)
        start_forwarders(self.runner, self.forwarder_image, self.network, running.name, forwarded, self.timeout)


HOOK_WEIGHT_ANNOTATION = "helm.sh/hook-weight"


def hook_weight(template: PodTemplate) -> int:
    """A hook's weight, as Helm orders hooks by it (then by name); 0 when unset or not a number."""
    text = str(((template.document.get("metadata") or {}).get("annotations") or {}).get(HOOK_WEIGHT_ANNOTATION, "0"))
    return int(text) if re.fullmatch(r"[+-]?[0-9]{1,9}", text.strip()) else 0


def run_test_hook(runner: DockerRunner, test: PodRun, image: str | None, network: str | None, timeout: float) -> HookResult:
    """One test hook's container, run to its end as `helm test` waits for the pod: it passes on exit 0."""
    name = f"{test.template.kind} {test.template.name}"
    spec = test.container_spec(image, network, publish=False)
    runner.ensure_image(spec.image)
    started = time.monotonic()
    running = runner.start(spec)
    exit_code = running.wait_exit(timeout)
    return HookResult(name, exit_code, time.monotonic() - started, running.log_tail())


# A Service's port forwarded to the pod's, as kube-proxy does: asyncio, the standard library only, in
# the service's image (its Python). Arguments: PORT:HOST:TARGET_PORT each; "listening" once all are bound.
FORWARDER = """
import asyncio, sys

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()

def forward_to(host, port):
    async def handle(reader, writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
    return handle

async def main():
    servers = []
    for mapping in sys.argv[1:]:
        port, host, target = mapping.split(":")
        servers.append(await asyncio.start_server(forward_to(host, int(target)), "0.0.0.0", int(port)))
    print("listening", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))

asyncio.run(main())
"""
Forwards = dict[str, list[tuple[int, int]]]  # Service name -> [(its port, the pod's port)]


def forwarded_services(documents: Sequence[Document], run: PodRun) -> Forwards:
    """The Services that select the pod through a cluster IP and map a port to another of the pod's: each
    needs a forwarder to stand in for kube-proxy. A headless Service (clusterIP: None) has none: its name
    resolves to the pod itself, on the pod's own ports."""
    found: Forwards = {}
    for document in documents:
        spec = document.get("spec") or {}
        selector = spec.get("selector") or {}
        if (document.get("kind") != "Service" or not selector or spec.get("clusterIP") == "None"
                or any(run.template.labels.get(key) != value for key, value in selector.items())):
            continue
        mappings = [(int(item["port"]), target) for item in spec.get("ports") or [] if isinstance(item.get("port"), int)
                    and isinstance(target := container_port(run.container, item.get("targetPort", item["port"])), int)]
        if any(port != target for port, target in mappings):
            found[str((document.get("metadata") or {}).get("name"))] = mappings
    return found


def own_names(documents: Sequence[Document], run: PodRun, forwarded: Forwards) -> tuple[str, ...]:
    """The names the pod's container answers to itself: its Services' but those a forwarder answers to."""
    return tuple(name for name in service_names(documents, run.template) if name not in forwarded)


def start_forwarders(runner: DockerRunner, image: str, network: str | None, target: str, forwarded: Forwards,
                     timeout: float) -> None:
    """One forwarder a Service, answering to its name, each of its ports forwarded to the pod's container
    (`target`, its container name on the run's network); returns once each listens. Unprivileged: a
    non-root user, a read-only root, no capability (Docker lets a container's user bind a low port)."""
    for name, mappings in forwarded.items():
        spec = ContainerSpec(image=image, entrypoint=["python3", "-c", FORWARDER],
                             command=[f"{port}:{target}:{target_port}" for port, target_port in mappings],
                             user="65534:65534", read_only=True, cap_drop=["ALL"], security_opt=["no-new-privileges"],
                             publish=(), healthcheck={"test": ["NONE"]}, network=network, aliases=(name,))
        running = runner.start(spec)
        deadline = time.monotonic() + timeout
        while "listening" not in running.logs():
            if running.state()["Status"] not in ("created", "running") or time.monotonic() > deadline:
                raise NotHealthy(f"the forwarder standing in for Service {name}'s ports did not start", running.log_tail())
            time.sleep(0.1)


def readiness_probes(pod: PodRun, databases: list[PodRun], what: str) -> tuple[str | None, int | None, dict[str, object] | None]:
    """The app's httpGet readiness (path, port) and its exec probe, if any (run as the container's health
    check, which then decides alone); a ConfigError when the app or a database pod has none to run."""
    path, port = pod.readiness()
    exec_probe = pod.exec_readiness()
    if exec_probe is None and (not path or not port):
        raise ConfigError(f"{what}: container {pod.container.get('name')} has no httpGet or exec readinessProbe")
    for database in databases:
        if database.exec_readiness() is None:
            raise ConfigError(f"{what}: {database.template.kind} {database.template.name} has no exec readinessProbe")
    return path, port, exec_probe


def service_names(documents: Sequence[Document], template: PodTemplate) -> tuple[str, ...]:
    """The names a pod answers to in its namespace: each Service that selects it, and for a StatefulSet's
    first pod its own name under the governing Service (NAME-0.SERVICE)."""
    labels = template.labels
    names = [str((document.get("metadata") or {}).get("name")) for document in documents
             if document.get("kind") == "Service" and (selector := (document.get("spec") or {}).get("selector"))
             and all(labels.get(key) == value for key, value in selector.items())]
    governing = (template.document.get("spec") or {}).get("serviceName") if template.kind == "StatefulSet" else None
    return tuple(names + ([f"{template.name}-0.{governing}"] if governing else []))
