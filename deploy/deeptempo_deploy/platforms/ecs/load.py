"""ECS, loaded: the task definition's DeepTempo container as a Workload. A pure function of the
RegisterTaskDefinition input (describe-task-definition output is reduced to it first)."""

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from deeptempo_deploy.platforms.model import (
    HOST_PATH,
    VOLUME,
    EnvironmentEntry,
    ManifestText,
    Mount,
    Workload,
    command_probe,
    pick_main,
)
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint.constants import DATA_DIR, SERVICE_HOME
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.findings import Where
from deeptempo_entrypoint.spec.model import Spec

PLATFORM = "ecs"
Document = Mapping[str, Any]
# What describe-task-definition adds and register-task-definition does not take.
READ_ONLY_FIELDS = ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt",
                    "registeredBy", "deregisteredAt")


def task_definition_input(document: object) -> dict[str, Any]:
    """RegisterTaskDefinition's input from a file: the input itself, or describe-task-definition's
    output (its `taskDefinition`, without the read-only fields)."""
    if isinstance(document, dict) and isinstance(document.get("taskDefinition"), dict):
        document = document["taskDefinition"]
    if not isinstance(document, dict):
        raise ConfigError("task definition: must be a JSON object")
    return {key: value for key, value in document.items() if key not in READ_ONLY_FIELDS}


def main_container(task_definition: Document) -> dict[str, Any] | None:
    """The container that runs the service: the same one for verify and local."""
    containers = [c for c in task_definition.get("containerDefinitions") or [] if isinstance(c, dict)]
    index = pick_main([(c.get("name", ""), c.get("image", "")) for c in containers])
    return None if index is None else containers[index]


def load(task_definition: Document, container: Document, spec: Spec) -> Workload:
    linux = container.get("linuxParameters") or {}
    capabilities = linux.get("capabilities") or {}
    check = container.get("healthCheck")
    workload = Workload(
        PLATFORM, Where(object=f"task {task_definition.get('family', '?')}", container=container.get("name")),
        image=container.get("image"), user=container.get("user") or None,
        read_only_root=container.get("readonlyRootFilesystem") is True, mounts=_mounts(task_definition, container),
        cap_add=list(capabilities.get("add") or []), cap_drop=list(capabilities.get("drop") or []),
        privileged=container.get("privileged") is True, host_network=task_definition.get("networkMode") == "host",
        host_pid=task_definition.get("pidMode") == "host", host_ipc=task_definition.get("ipcMode") == "host",
        init=linux.get("initProcessEnabled") is True,
        container_ports=[p.get("containerPort") for p in container.get("portMappings") or []],
        probes=[command_probe("healthCheck", (check.get("command") or [])[1:])] if check else [],
        environment=[EnvironmentEntry(item.get("name", ""), literal=str(item.get("value") or ""))
                     for item in container.get("environment") or []]
        + [EnvironmentEntry(item.get("name", ""), reference="valueFrom") for item in container.get("secrets") or []],
        home=SERVICE_HOME, data_dir=DATA_DIR)
    workload.texts = list(manifest_texts(task_definition, container))
    view = SpecView(spec)
    for item in container.get("secrets") or []:
        entry = view.secret_entry_for_key(item.get("name", ""))
        if entry:
            workload.secret_routes.setdefault(entry.name, f"secrets {item.get('valueFrom', '')}")
    return workload


def _mounts(task_definition: Document, container: Document) -> list[Mount]:
    volumes = {volume.get("name"): volume for volume in task_definition.get("volumes") or []}
    mounts = []
    for mount in container.get("mountPoints") or []:
        volume = volumes.get(mount.get("sourceVolume"))
        if volume is None:
            continue  # a mount of no volume: the model rejects it
        host_path = (volume.get("host") or {}).get("sourcePath")
        mounts.append(Mount(mount.get("containerPath", ""), HOST_PATH if host_path else VOLUME,
                            host_path or volume.get("name"), not mount.get("readOnly")))
    return mounts


# --- every string the task definition gives a process or publishes about it (no-literal-secret) ---------

def manifest_texts(task_definition: Document, main: Document) -> Iterator[ManifestText]:
    """Every container's (essential or not) command, entry point, Docker labels, log and FireLens options
    and healthCheck command, the other containers' environment (the service container's own is its
    Workload's), and the task's tags."""
    family = task_definition.get("family", "?")
    yield from (ManifestText(f"tag {tag.get('key')}", f"{tag.get('key')}={tag.get('value')}", where=Where(object=f"task {family}"))
                for tag in task_definition.get("tags") or [] if isinstance(tag, dict))
    for container in task_definition.get("containerDefinitions") or []:
        if isinstance(container, dict):
            where = Where(object=f"task {family}", container=container.get("name"))
            yield from (dataclasses.replace(text, where=where) for text in _container_texts(container, container is main))


def _container_texts(container: Document, own: bool) -> Iterator[ManifestText]:
    if not own:  # the service container's own environment is its Workload's
        yield from (ManifestText("the environment", str(item.get("value") or ""), str(item.get("name", "")))
                    for item in container.get("environment") or [] if isinstance(item, dict))
    for field_name in ("command", "entryPoint"):
        yield from (ManifestText(field_name, str(word)) for word in container.get(field_name) or [])
    yield from (ManifestText("healthCheck command", str(word)) for word in (container.get("healthCheck") or {}).get("command") or [])
    yield from (ManifestText(f"dockerLabel {key}", f"{key}={value}") for key, value in (container.get("dockerLabels") or {}).items())
    for field_name in ("logConfiguration", "firelensConfiguration"):
        options = (container.get(field_name) or {}).get("options") or {}
        yield from (ManifestText(f"{field_name} option {key}", f"{key}={value}") for key, value in options.items())
