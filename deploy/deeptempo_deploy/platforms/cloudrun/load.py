"""Cloud Run, loaded: the service YAML read from a file, and its DeepTempo container as a Workload. A
pure function of the document (what `gcloud run services describe --format export` prints, or what
`render cloudrun` writes). Cloud Run cannot express most of the host hardening the shared rules judge (a
user, capabilities, a read-only root, host namespaces): those stay None, unknown, never judged."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from deeptempo_deploy.platforms.cloudrun import LATEST, MAX_SCALE
from deeptempo_deploy.platforms.model import (
    OTHER,
    SECRET_FILES,
    TMPFS,
    EnvironmentEntry,
    HealthProbe,
    ManifestText,
    Mount,
    Resources,
    Workload,
    pick_main,
    storage_target,
)
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint import yamltext
from deeptempo_entrypoint.constants import DATA_DIR, SERVICE_HOME
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.findings import Where
from deeptempo_entrypoint.spec.model import Spec
from deeptempo_entrypoint.textfile import read_text

PLATFORM = "cloudrun"
DEFAULT_PORT = 8080  # Cloud Run's, when the container names no port
EXPECTED_PROBES = ("startupProbe", "livenessProbe")
Document = Mapping[str, Any]


def load_yaml(path: str, text: str | None = None, what: str = "service") -> Any:
    """One YAML document from a file (or the text given): aliases refused, nesting bounded."""
    if text is None:
        text = read_text(path, error=ConfigError, what=what)  # refuses FIFOs and huge files, names the file
    try:
        documents = [document for document in yamltext.load_all(text) if document is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path}: not valid YAML{yamltext.position(exc)}") from None
    except yamltext.YamlRefused as exc:
        raise ConfigError(f"{what} {path}: line {exc.line}: {exc.reason}") from None
    if len(documents) != 1:
        raise ConfigError(f"{what} {path}: must hold one YAML document, not {len(documents)}")
    return documents[0]


def service_document(document: object, path: str) -> dict[str, Any]:
    if not isinstance(document, dict) or document.get("kind") != "Service":
        raise ConfigError(f"service {path}: not a Cloud Run service (a mapping with kind: Service)")
    return document


def template_of(service: Document) -> Document:
    template = (service.get("spec") or {}).get("template") or {}
    return template if isinstance(template, dict) else {}


def pod_spec(service: Document) -> Document:
    spec = template_of(service).get("spec") or {}
    return spec if isinstance(spec, dict) else {}


def containers_of(service: Document) -> list[dict[str, Any]]:
    return [container for container in pod_spec(service).get("containers") or [] if isinstance(container, dict)]


def main_container(service: Document) -> dict[str, Any] | None:
    """The container that serves (Cloud Run's ingress container): the same one for verify and local."""
    containers = containers_of(service)
    index = pick_main([(str(c.get("name", "")), str(c.get("image", ""))) for c in containers])
    return None if index is None else containers[index]


def annotations_of(document: Document) -> dict[str, str]:
    found = (document.get("metadata") or {}).get("annotations") or {}
    return {str(key): str(value) for key, value in found.items()} if isinstance(found, dict) else {}


# The names Cloud Run accepts for a service and a container (RFC 1123 labels). Anything else is not
# echoed in a finding: a report never repeats text that may be a pasted value where a name belongs.
NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def shown_name(value: object) -> str:
    return value if isinstance(value, str) and NAME.fullmatch(value) else "(not a name Cloud Run accepts)"


def service_where(service: Document, container: Document | None = None) -> Where:
    name = shown_name((service.get("metadata") or {}).get("name", "?"))
    return Where(object=f"service {name}", container=None if container is None else shown_name(container.get("name")))


def secret_volumes(service: Document) -> dict[str, Document]:
    """Volume name -> its `secret` (secretName, items)."""
    return {str(volume.get("name")): volume["secret"] for volume in pod_spec(service).get("volumes") or []
            if isinstance(volume, dict) and isinstance(volume.get("secret"), dict)}


def secret_files(service: Document, container: Document) -> dict[str, tuple[str, str]]:
    """Each file a secret volume puts in the container: path -> (secretName, version)."""
    volumes = secret_volumes(service)
    files = {}
    for mount in container.get("volumeMounts") or []:
        secret = volumes.get(str((mount or {}).get("name")))
        if secret is None:
            continue
        for item in secret.get("items") or [{"key": LATEST, "path": secret.get("secretName", "")}]:
            path = posixpath.join(str(mount.get("mountPath", "")), str(item.get("path", "")))
            files[path] = (str(secret.get("secretName", "")), str(item.get("key", LATEST)))
    return files


def env_secret_refs(container: Document) -> Iterator[tuple[str, str, str]]:
    """(variable, secretName, version) of each environment variable Secret Manager fills."""
    for item in container.get("env") or []:
        ref = ((item or {}).get("valueFrom") or {}).get("secretKeyRef")
        if isinstance(ref, dict):
            yield str(item.get("name", "")), str(ref.get("name", "")), str(ref.get("key", ""))


def load(service: Document, container: Document, spec: Spec, image_user: str | None = None) -> Workload:
    """`image_user`: the USER of the image it runs, when the image was inspected (Cloud Run has no user
    of its own to set)."""
    ports = [int(port["containerPort"]) for port in container.get("ports") or []
             if isinstance(port, dict) and isinstance(port.get("containerPort"), int)] or [DEFAULT_PORT]
    environment = _environment(container)
    limits = ((container.get("resources") or {}).get("limits") or {})
    max_scale = annotations_of(template_of(service)).get(MAX_SCALE)
    settings = {entry.name: entry.literal for entry in environment if entry.literal is not None}
    workload = Workload(
        PLATFORM, service_where(service, container), image=container.get("image"), user=image_user,
        mounts=_mounts(service, container), container_ports=ports,
        probes=[_probe(name, container[name], ports[0]) for name in EXPECTED_PROBES if isinstance(container.get(name), dict)],
        expected_probes=EXPECTED_PROBES, environment=environment,
        resources=Resources({str(key): str(value) for key, value in limits.items()} if isinstance(limits, dict) else {}),
        home=SERVICE_HOME, data_dir=DATA_DIR,
        autoscaled=max_scale is None or max_scale.strip() != "1",  # Cloud Run's default scales to 100
        points_at_database=storage_target(settings))
    workload.texts = list(manifest_texts(service, container))
    _add_secret_routes(workload, service, container, SpecView(spec))
    return workload


def _environment(container: Document) -> list[EnvironmentEntry]:
    return [EnvironmentEntry(str(item.get("name", "")), literal=None if "valueFrom" in item else str(item.get("value", "")),
                             reference="valueFrom" if "valueFrom" in item else None)
            for item in container.get("env") or [] if isinstance(item, dict)]


def _add_secret_routes(workload: Workload, service: Document, container: Document, view: SpecView) -> None:
    """How each spec secret arrives: a variable Secret Manager fills, or a NAME_FILE naming a secret file."""
    for variable, name, version in env_secret_refs(container):
        entry = view.secret_entry_for_key(variable)
        if entry:
            workload.secret_routes.setdefault(entry.name, f"environment from secret {name} version {version}")
            workload.environment_secrets.add(entry.name)
    files = secret_files(service, container)
    for item in workload.environment:
        entry = view.entry_for_file_variable(item.name)
        if entry and entry.is_secret and item.literal in files:
            name, version = files[item.literal]
            workload.secret_routes.setdefault(entry.name, f"file {item.literal} from secret {name} version {version}")


def _probe(name: str, probe: Document, port: int) -> HealthProbe:
    get = probe.get("httpGet")
    if not isinstance(get, dict):
        return HealthProbe(name, None, None)  # tcpSocket, grpc: no path asked
    return HealthProbe(name, str(get.get("path") or "/"), int(get["port"]) if isinstance(get.get("port"), int) else port)


def _mounts(service: Document, container: Document) -> list[Mount]:
    volumes = {str(volume.get("name")): volume for volume in pod_spec(service).get("volumes") or [] if isinstance(volume, dict)}
    mounts = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(str((mount or {}).get("name")))
        if volume is None:
            continue  # a mount of no volume: the schema and Cloud Run reject it
        if isinstance(volume.get("secret"), dict):
            mounts.append(Mount(str(mount.get("mountPath", "")), SECRET_FILES, str(volume["secret"].get("secretName")), False))
        elif isinstance(volume.get("emptyDir"), dict):
            mounts.append(Mount(str(mount.get("mountPath", "")), TMPFS, str(volume.get("name")), not mount.get("readOnly")))
        else:
            mounts.append(Mount(str(mount.get("mountPath", "")), OTHER, str(volume.get("name")), not mount.get("readOnly")))
    return mounts


# --- every string the service gives a process or publishes about it (no-literal-secret) ------------

def manifest_texts(service: Document, main: Document) -> Iterator[ManifestText]:
    """The service's and the revision template's annotations and labels, every container's command,
    arguments and probe headers, and the other containers' environment (the serving container's own is
    its Workload's)."""
    where = service_where(service)
    for document in (service, template_of(service)):
        metadata = document.get("metadata") or {}
        for kind in ("annotations", "labels"):
            for key, value in (metadata.get(kind) or {}).items():
                yield ManifestText(f"{kind[:-1]} {key}", f"{key}={value}", where=where)
    for container in containers_of(service):
        within = service_where(service, container)
        if container is not main:
            for item in container.get("env") or []:
                if isinstance(item, dict) and "value" in item:
                    yield ManifestText("the environment", str(item.get("value")), str(item.get("name", "")), where=within)
        for field_name in ("command", "args"):
            for word in container.get(field_name) or []:
                yield ManifestText(field_name, str(word), where=within)
        for probe_name in ("startupProbe", "livenessProbe"):
            for header in ((container.get(probe_name) or {}).get("httpGet") or {}).get("httpHeaders") or []:
                yield ManifestText(f"{probe_name} header", f"{header.get('name')}: {header.get('value')}", where=within)
