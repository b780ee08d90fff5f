"""Kubernetes, loaded: every workload's pod template in rendered manifests (manifests.py renders and
parses them), its DeepTempo container as a Workload. A pure function of the documents."""

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

from deeptempo_deploy.platforms.model import (
    APP,
    DATABASE,
    HOST_PATH,
    OTHER,
    SECRET_FILES,
    TEST,
    TMPFS,
    VOLUME,
    CarriedValue,
    EnvironmentEntry,
    HealthProbe,
    ManifestText,
    Mount,
    PublishedPort,
    Resources,
    Workload,
    command_probe,
    database_image,
    pick_main,
    storage_target,
)
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint.constants import (
    DATA_BACKEND_VARIABLE,
    DATA_DIR,
    DATABASE_HOST_VARIABLE,
    DEFAULT_SECRETS_DIR,
    FILE_SUFFIX,
    SECRETS_DIR_VARIABLE,
    SERVICE_HOME,
)
from deeptempo_entrypoint.findings import WARNING, Finding, Where
from deeptempo_entrypoint.spec.model import Spec

PLATFORM = "k8s"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod", "CronJob"}
PROBES = ("readinessProbe", "livenessProbe")
# A pod template labelled so (Kubernetes' recommended label) runs the database beside the service.
ROLE_LABEL = "app.kubernetes.io/component"
# The rules its database needs excepted, one `RULE: why` a line, on the workload (platforms/judging.py).
EXCEPTIONS_ANNOTATION = "deeptempo.io/verify-exceptions"
# Helm's hook annotation; a pod whose hooks include a test is run by `helm test`, not as the service.
HOOK_ANNOTATION = "helm.sh/hook"
TEST_HOOKS = {"test", "test-success"}  # test-success: Helm 2's name, still honoured by Helm 3
REPLICATED = {"Deployment", "StatefulSet", "ReplicaSet"}  # spec.replicas, default 1
# Autoscalers and where they keep the workload they scale and their ceiling (KEDA's defaults to 100).
AUTOSCALERS = {"HorizontalPodAutoscaler": "maxReplicas", "ScaledObject": "maxReplicaCount"}
Document = dict[str, Any]
# Secret name -> {key: value}; a value is None where the manifests do not hold it (an ExternalSecret).
SecretKeys = dict[str, dict[str, str | None]]


class PodTemplate:
    """One workload's pod template: the object, its pod spec, and which container runs the service."""

    def __init__(self, document: Document, pod_spec: Document) -> None:
        self.document = document
        self.pod_spec = pod_spec
        self.kind = str(document.get("kind"))
        self.name = str((document.get("metadata") or {}).get("name", "?"))
        containers = list(pod_spec.get("containers") or [])
        index = pick_main([(c.get("name", ""), c.get("image", "")) for c in containers])
        if index is None:  # a database's pod with a sidecar (an exporter): its PostgreSQL container
            index = next((i for i, c in enumerate(containers) if database_image(c.get("image"))), None)
        self.container: dict[str, Any] | None = None if index is None else containers[index]

    @property
    def where(self) -> Where:
        return Where(object=f"{self.kind} {self.name}", container=(self.container or {}).get("name"))

    @property
    def labels(self) -> dict[str, Any]:
        """The pod template's labels (a Pod's own)."""
        if self.kind == "Pod":
            return dict((self.document.get("metadata") or {}).get("labels") or {})
        template = (self.document.get("spec") or {}).get("template") or {}
        return dict((template.get("metadata") or {}).get("labels") or {})

    @property
    def role(self) -> str:
        """A Helm test hook; the database beside the service (labelled component: database, or a PostgreSQL
        image); else the service."""
        if self.is_test_hook:
            return TEST
        image = (self.container or {}).get("image")
        return DATABASE if self.labels.get(ROLE_LABEL) == DATABASE or database_image(image) else APP

    @property
    def is_test_hook(self) -> bool:
        """A pod `helm test` runs (helm.sh/hook: test): it asks the service and exits; it is not the service."""
        hooks = str(((self.document.get("metadata") or {}).get("annotations") or {}).get(HOOK_ANNOTATION) or "")
        return self.kind == "Pod" and bool({hook.strip() for hook in hooks.split(",")} & TEST_HOOKS)

    def exceptions(self) -> dict[str, str]:
        text = ((self.document.get("metadata") or {}).get("annotations") or {}).get(EXCEPTIONS_ANNOTATION) or ""
        pairs = (line.partition(":") for line in str(text).splitlines() if line.strip())
        return {rule.strip(): why.strip() for rule, _, why in pairs}


def pod_templates(documents: Sequence[Document]) -> Iterator[PodTemplate]:
    for document in documents:
        kind = document.get("kind")
        if kind not in WORKLOADS:
            continue
        spec = document.get("spec") or {}
        if kind == "Pod":
            yield PodTemplate(document, spec)
            continue
        if kind == "CronJob":
            spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
        yield PodTemplate(document, (spec.get("template") or {}).get("spec") or {})


def secrets_by_name(documents: Sequence[Document]) -> SecretKeys:
    """{Secret name: {key: value}}, from Secret objects and ExternalSecrets' targets (values unknown)."""
    found: SecretKeys = {}
    for document in documents:
        name = str((document.get("metadata") or {}).get("name"))
        if document.get("kind") == "Secret":
            found[name] = {**{key: _decoded(value) for key, value in (document.get("data") or {}).items()},
                           **{key: str(value) for key, value in (document.get("stringData") or {}).items()}}
        elif document.get("kind") == "ExternalSecret":
            spec = document.get("spec") or {}
            target = str((spec.get("target") or {}).get("name") or name)
            found[target] = {item["secretKey"]: None for item in spec.get("data") or [] if item.get("secretKey")}
    return found


def config_maps_by_name(documents: Sequence[Document]) -> dict[str, dict[str, str]]:
    """{ConfigMap name: {key: value}} of the ConfigMaps in the manifests (binaryData decoded when it is text)."""
    found: dict[str, dict[str, str]] = {}
    for document in documents:
        if document.get("kind") == "ConfigMap":
            binary = {key: _decoded(value) for key, value in (document.get("binaryData") or {}).items()}
            found[str((document.get("metadata") or {}).get("name"))] = {
                **{key: value for key, value in binary.items() if value is not None},
                **{str(key): str(value) for key, value in (document.get("data") or {}).items()}}
    return found


def _decoded(value: object) -> str | None:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def container_port(container: Document, port: object) -> int | None:
    """A probe's port as a number: itself, or the containerPort of the port it names."""
    if isinstance(port, int) or port is None:
        return port
    return next((p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == port), None)


def load(documents: Sequence[Document], spec: Spec, *, carried: bool = True) -> tuple[list[Workload], list[Finding]]:
    """A Workload per pod template with a DeepTempo container, and what loading found. `carried`: the
    Secrets' values are the deployment's own (not an .example standing in), so they are judged."""
    secrets = secrets_by_name(documents)
    view = SpecView(spec)
    for data in secrets.values():
        for key, value in data.items():
            view.remember(key, value)
    config_maps = config_maps_by_name(documents)
    workloads, findings = [], []
    for template in pod_templates(documents):
        if template.container is None:
            continue
        workload = _workload(template, template.container)
        workload.texts = list(manifest_texts(template, config_maps))
        workload.replicas, workload.autoscaled = _replicas(template), _autoscaled(template, documents)
        workload.points_at_database = storage_target(*_storage_settings(template.container, documents))
        findings += _secret_routes(workload, view, template, secrets)
        workload.rollout_trigger = _rollout_trigger(template, secrets)
        if carried:
            workload.carried_values += _carried(workload, secrets)
        workloads.append(workload)
    return workloads, findings


def _workload(template: PodTemplate, container: Document) -> Workload:
    pod_context, context = template.pod_spec.get("securityContext") or {}, container.get("securityContext") or {}
    user = context.get("runAsUser", pod_context.get("runAsUser"))
    capabilities = context.get("capabilities") or {}
    resources = container.get("resources") or {}
    app = template.role == APP
    return Workload(
        PLATFORM, template.where, image=container.get("image"), user=None if user is None else str(user),
        non_root_enforced=context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True,
        read_only_root=context.get("readOnlyRootFilesystem") is True, mounts=_mounts(template.pod_spec, container),
        cap_add=list(capabilities.get("add") or []), cap_drop=list(capabilities.get("drop") or []),
        privilege_escalation=context.get("allowPrivilegeEscalation") is not False,
        privileged=context.get("privileged") is True, host_network=template.pod_spec.get("hostNetwork") is True,
        host_pid=template.pod_spec.get("hostPID") is True, host_ipc=template.pod_spec.get("hostIPC") is True,
        container_ports=[p.get("containerPort") for p in container.get("ports") or []],
        published_ports=[PublishedPort(p.get("containerPort"), str(p["hostPort"]), p.get("hostIP") or None)
                         for p in container.get("ports") or [] if p.get("hostPort")],
        probes=list(_probes(container)), expected_probes=PROBES,
        environment=[_environment_entry(variable) for variable in container.get("env") or []],
        resources=Resources(dict(resources.get("limits") or {}), dict(resources.get("requests") or {})),
        home=SERVICE_HOME if app else None, data_dir=DATA_DIR if app else None, role=template.role,
        exceptions=template.exceptions())


def _replicas(template: PodTemplate) -> int | None:
    if template.kind == "Pod":
        return 1
    if template.kind not in REPLICATED:
        return None  # a DaemonSet runs one a node, a Job as its parallelism says: not judged
    replicas = (template.document.get("spec") or {}).get("replicas", 1)
    return replicas if isinstance(replicas, int) else None


def _autoscaled(template: PodTemplate, documents: Sequence[Document]) -> bool:
    """Whether an autoscaler in the manifests (a HorizontalPodAutoscaler, KEDA's ScaledObject) may run
    more than one replica of the workload."""
    for document in documents:
        ceiling = AUTOSCALERS.get(str(document.get("kind")))
        spec = document.get("spec") or {}
        target = spec.get("scaleTargetRef") or {}
        if ceiling and target.get("name") == template.name and target.get("kind", "Deployment") == template.kind:
            maximum = spec.get(ceiling, 100)
            if not isinstance(maximum, int) or maximum > 1:
                return True
    return False


def _storage_settings(container: Document, documents: Sequence[Document]) -> tuple[dict[str, str | None], bool]:
    """The storage settings the container's environment holds, as a kubelet builds it (envFrom in order,
    then env), and whether a source outside the manifests could set them."""
    objects = _ObjectData(documents)
    wanted = (DATA_BACKEND_VARIABLE, DATABASE_HOST_VARIABLE)
    settings: dict[str, str | None] = {}
    for source in container.get("envFrom") or []:
        for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            data = objects.data(kind, (source.get(key) or {}).get("name")) if source.get(key) else {}
            settings.update({variable: (data or {})[variable] for variable in wanted if variable in (data or {})})
    for variable in container.get("env") or []:
        if variable.get("name") not in wanted:
            continue
        value_from = variable.get("valueFrom") or {}
        ref = value_from.get("configMapKeyRef") or value_from.get("secretKeyRef")
        if ref is None:
            settings[variable["name"]] = str(variable.get("value") or "")
            continue
        data = objects.data("ConfigMap" if "configMapKeyRef" in value_from else "Secret", ref.get("name"))
        if data is not None and ref.get("key") in data:
            settings[variable["name"]] = data[ref["key"]]
    return settings, objects.unknown


class _ObjectData:
    """The data of the ConfigMaps and Secrets in the manifests, by kind and name; `unknown` once a
    reference named one that is not there (made elsewhere: it could hold anything)."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.objects = {(d.get("kind"), (d.get("metadata") or {}).get("name")): d for d in documents}
        self.unknown = False

    def data(self, kind: str, name: object) -> dict[str, str | None] | None:
        document = self.objects.get((kind, name))
        if document is None:
            self.unknown = True
            return None
        if kind == "Secret":
            return {key: _decoded(value) for key, value in (document.get("data") or {}).items()}
        return {key: str(value) for key, value in (document.get("data") or {}).items()}


def _mounts(pod_spec: Document, container: Document) -> list[Mount]:
    volumes = {volume.get("name"): volume for volume in pod_spec.get("volumes") or []}
    mounts = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name")) or {}
        path, writable = mount.get("mountPath", ""), not mount.get("readOnly")
        if "emptyDir" in volume:
            mounts.append(Mount(path, TMPFS, mount.get("name"), writable))
        elif "persistentVolumeClaim" in volume or "ephemeral" in volume:
            mounts.append(Mount(path, VOLUME, mount.get("name"), writable))
        elif "secret" in volume:
            stale = ("a subPath mount, which the kubelet never updates: a changed Secret reaches the pod only when "
                     "it restarts; mount the volume as a directory instead") if mount.get("subPath") else None
            mounts.append(Mount(path, SECRET_FILES, (volume["secret"] or {}).get("secretName"), writable=False,
                                stale_on_change=stale))
        elif "hostPath" in volume:
            mounts.append(Mount(path, HOST_PATH, (volume["hostPath"] or {}).get("path"), writable))
        else:
            mounts.append(Mount(path, OTHER, mount.get("name"), writable=False))
    return mounts


# What rolls a workload's pods when its Secret changes: a pod template annotation that tools or charts
# bump (Helm's checksum/secret, the kit's revision), or a controller that watches the Secret (Reloader).
ROLLOUT_ANNOTATIONS = ("checksum/", "deeptempo.io/secrets-revision", "reloader.stakater.com/", "secret.reloader.stakater.com/")
GENERATED_NAME = re.compile(r"-[bcdfghkmt2-9]{10}$")  # Kustomize's hash suffix (secretGenerator)


def _rollout_trigger(template: PodTemplate, secrets: SecretKeys) -> str:
    """How the pods roll when a Secret in their environment changes; "" when nothing makes them."""
    pod_metadata = ((template.document.get("spec") or {}).get("template") or {}).get("metadata") or {}
    annotations = [*((template.document.get("metadata") or {}).get("annotations") or {}), *(pod_metadata.get("annotations") or {})]
    annotated = [key for key in annotations if key.startswith(ROLLOUT_ANNOTATIONS)]
    if annotated:
        return f"annotation {annotated[0]}"
    generated = [name for name in _environment_secret_names(template.container or {}) if GENERATED_NAME.search(name)]
    return f"generated name {generated[0]}" if generated else ""


def _environment_secret_names(container: Document) -> list[str]:
    names = [(source.get("secretRef") or {}).get("name") for source in container.get("envFrom") or []]
    names += [((variable.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") for variable in container.get("env") or []]
    return [name for name in names if name]


def _probes(container: Document) -> Iterator[HealthProbe]:
    for name in (*PROBES, "startupProbe"):
        probe = container.get(name)
        if not probe:
            continue
        if "httpGet" in probe:
            http = probe["httpGet"] or {}
            yield HealthProbe(name, http.get("path"), container_port(container, http.get("port")))
        elif "exec" in probe:
            yield command_probe(name, (probe["exec"] or {}).get("command") or [])
        else:
            yield HealthProbe(name, None, container_port(container, (probe.get("tcpSocket") or {}).get("port")))


def _environment_entry(variable: Document) -> EnvironmentEntry:
    if "valueFrom" in variable:
        ref = variable.get("valueFrom") or {}
        return EnvironmentEntry(variable.get("name", ""), reference=", ".join(sorted(ref)) or "valueFrom")
    return EnvironmentEntry(variable.get("name", ""), literal=str(variable.get("value") or ""))


# --- every string the pod template gives a process or publishes about it (no-literal-secret) ----------------

def manifest_texts(template: PodTemplate, config_maps: dict[str, dict[str, str]]) -> Iterator[ManifestText]:
    """The workload's and its pod template's annotations and labels, and for every container (init,
    regular, ephemeral), what it is given: variables (the service container's own are its Workload's
    environment), the ConfigMaps it takes (envFrom, configMapKeyRef, a mounted ConfigMap volume), its
    command and arguments, its probes' and lifecycle hooks' commands and headers."""
    spec = template.document.get("spec") or {}
    if template.kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    pod_metadata = (spec.get("template") or {}).get("metadata") or {}
    for metadata, whose in ((template.document.get("metadata") or {}, ""), (pod_metadata, "pod template ")):
        for kind in ("annotations", "labels"):
            for key, value in (metadata.get(kind) or {}).items():
                yield ManifestText(f"{whose}{kind[:-1]} {key}", f"{key}={value}", where=template.where._replace(container=None))
    pod_spec = template.pod_spec
    volumes = {volume.get("name"): volume for volume in pod_spec.get("volumes") or [] if isinstance(volume, dict)}
    for role in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod_spec.get(role) or []:
            if isinstance(container, dict):
                where = template.where._replace(container=container.get("name"))
                own = container is template.container
                yield from (dataclasses.replace(text, where=where)
                            for text in _container_texts(container, config_maps, volumes, own))


def _container_texts(container: Document, config_maps: dict[str, dict[str, str]], volumes: dict[Any, Document],
                     own: bool) -> Iterator[ManifestText]:
    """What one container is given; `own`: it is the service container (its env is the Workload's)."""
    yield from _config_map_texts(container, config_maps, volumes)
    if not own:  # the service container's own variables are its Workload's environment
        yield from (ManifestText("the environment", str(variable.get("value") or ""), str(variable.get("name", "")))
                    for variable in container.get("env") or [] if "value" in variable)
    for field_name in ("command", "args"):
        yield from (ManifestText(field_name, str(word)) for word in container.get(field_name) or [])
    handlers = [(name, container.get(name)) for name in (*PROBES, "startupProbe")]
    handlers += [(f"lifecycle {hook}", (container.get("lifecycle") or {}).get(hook)) for hook in ("postStart", "preStop")]
    for name, handler in handlers:
        if isinstance(handler, dict):
            yield from _handler_texts(name, handler)


def _config_map_texts(container: Document, config_maps: dict[str, dict[str, str]],
                      volumes: dict[Any, Document]) -> Iterator[ManifestText]:
    """The values of the ConfigMaps (in the manifests) a container takes: envFrom, configMapKeyRef, a volume."""
    for source in container.get("envFrom") or []:
        name = str((source.get("configMapRef") or {}).get("name"))
        prefix = source.get("prefix") or ""
        yield from (ManifestText(f"ConfigMap {name} (envFrom)", value, f"{prefix}{key}")
                    for key, value in config_maps.get(name, {}).items())
    for variable in container.get("env") or []:
        ref = (variable.get("valueFrom") or {}).get("configMapKeyRef") or {}
        data = config_maps.get(str(ref.get("name")), {})
        if ref.get("key") in data:
            yield ManifestText(f"ConfigMap {ref.get('name')} (configMapKeyRef)", data[ref["key"]], str(variable.get("name", "")))
    for mount in container.get("volumeMounts") or []:
        name = str(((volumes.get(mount.get("name")) or {}).get("configMap") or {}).get("name"))
        yield from (ManifestText(f"ConfigMap {name} (volume, file {key})", value) for key, value in config_maps.get(name, {}).items())


def _handler_texts(name: str, handler: Document) -> Iterator[ManifestText]:
    """A probe's or lifecycle hook's command words and HTTP header values."""
    yield from (ManifestText(f"{name} command", str(word)) for word in (handler.get("exec") or {}).get("command") or [])
    yield from (ManifestText(f"{name} header {header.get('name')}", str(header.get("value") or ""))
                for header in (handler.get("httpGet") or {}).get("httpHeaders") or [])


def _secret_routes(workload: Workload, view: SpecView, template: PodTemplate, secrets: SecretKeys) -> list[Finding]:
    """How each spec secret reaches the container: envFrom, secretKeyRef, NAME_FILE, or a mounted Secret
    the serve path reads as its secrets directory. A key whose value is known to be empty reaches nothing."""
    routes = _Routes(workload, view, secrets)
    container = template.container or {}
    for source in container.get("envFrom") or []:
        name = (source.get("secretRef") or {}).get("name")
        for key in routes.keys_of(name, "envFrom") if name else ():
            routes.reach(key, f"envFrom Secret {name}", environment=True)
    for variable in container.get("env") or []:
        name = variable.get("name", "")
        ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            routes.reach(name, f"secretKeyRef {ref.get('name')}/{ref.get('key')}", environment=True)
        elif view.entry_for_file_variable(name) and variable.get("value"):
            routes.reach(name[: -len(FILE_SUFFIX)], name)
    for secret in _secrets_directory_volumes(template, container):
        items = secret.get("items")
        keys = [item.get("path") or "" for item in items] if items else routes.keys_of(secret.get("secretName", ""), "volume")
        for key in keys:
            routes.reach(os.path.basename(key), f"files of Secret {secret.get('secretName')}")
    return routes.findings


class _Routes:
    """The routes found so far, and what could not be checked (a Secret made outside the manifests)."""

    def __init__(self, workload: Workload, view: SpecView, secrets: SecretKeys) -> None:
        self.workload, self.view, self.secrets = workload, view, secrets
        self.findings: list[Finding] = []

    def keys_of(self, name: str, how: str) -> dict[str, str | None]:
        if name in self.secrets:
            return {key: value for key, value in self.secrets[name].items() if value != ""}
        self.findings.append(Finding(None, WARNING, f"Secret {name} ({how}) is created outside these manifests, so its keys "
                                                    "are not checked; every secret is taken to be in it", "secret-reachable",
                                     self.workload.where))
        return dict.fromkeys((entry.name for entry in self.view.secrets), None)

    def reach(self, key: str, how: str, environment: bool = False) -> None:
        entry = self.view.secret_entry_for_key(key)
        if entry:
            self.workload.secret_routes.setdefault(entry.name, how)
            if environment:
                self.workload.environment_secrets.add(entry.name)


def _secrets_directory_volumes(template: PodTemplate, container: Document) -> Iterator[Document]:
    """The Secret volumes mounted where the serve path reads its secrets directory."""
    secrets_dir = next((v.get("value") for v in container.get("env") or [] if v.get("name") == SECRETS_DIR_VARIABLE),
                       DEFAULT_SECRETS_DIR).rstrip("/")
    volumes = {volume.get("name"): volume for volume in template.pod_spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        secret = (volumes.get(mount.get("name")) or {}).get("secret")
        if secret and mount.get("mountPath", "").rstrip("/") == secrets_dir:
            yield secret


def _carried(workload: Workload, secrets: SecretKeys) -> list[CarriedValue]:
    """The values of the Secrets in the manifests (a secretGenerator's env-file): the deployment's own."""
    return [CarriedValue(key, value, f"Secret {name}") for name, data in sorted(secrets.items())
            for key, value in data.items() if value]
