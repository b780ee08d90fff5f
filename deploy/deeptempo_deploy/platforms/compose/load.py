"""Compose, loaded: the service that runs the DeepTempo image, from the documents `docker compose
config` prints (normalise.py), as a Workload. A pure function of those documents: no engine, no CLI."""

import dataclasses
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from deeptempo_deploy.platforms.model import (
    APP,
    DATABASE,
    HOST_PATH,
    OTHER,
    SECRET_FILES,
    TMPFS,
    VOLUME,
    CarriedValue,
    EnvironmentEntry,
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
from deeptempo_entrypoint.constants import DATA_DIR, SERVICE_HOME
from deeptempo_entrypoint.findings import WARNING, Finding, Where
from deeptempo_entrypoint.spec.model import Spec

PLATFORM = "compose"
REFERENCE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}?")  # ${VAR}, $VAR, ${VAR:?message}; no default
Document = Mapping[str, Any]
# The kit's own extension of a Compose service (Compose keeps x- keys and ignores them): what the service
# is to the deployment, and the rules its database needs excepted, with the reason for each.
EXTENSION = "x-deeptempo-verify"


def service_name(document: Document, preferred: str | None = None) -> str | None:
    services = document.get("services") or {}
    names = list(services)
    index = pick_main([(name, (services[name] or {}).get("image") or "") for name in names], preferred)
    return None if index is None else names[index]


def database_services(interpolated: Document, raw: Document, app: str) -> list[str]:
    """The services besides the DeepTempo one that hold its database: marked so (x-deeptempo-verify's
    role) or running a PostgreSQL image, so that a database nobody marked is judged all the same."""
    return [name for name, run in (interpolated.get("services") or {}).items() if name != app
            and (_extension(raw, name).get("role") == DATABASE or database_image((run or {}).get("image")))]


def _extension(raw: Document, service: str) -> Mapping[str, Any]:
    extension = ((raw.get("services") or {}).get(service) or {}).get(EXTENSION)
    return extension if isinstance(extension, Mapping) else {}


def load(interpolated: Document, raw: Document, spec: Spec, service: str,
         role: str = APP) -> tuple[Workload, list[Finding]]:
    """The service `service` as a Workload of `role` (the DeepTempo service, or its database), and what
    loading it found (an env-file absent here). `interpolated` is what `up` would run; `raw` the same
    without interpolation, where `${NAME}` still shows that a value is a reference."""
    run, written = interpolated["services"][service], raw["services"][service]
    exceptions = _extension(raw, service).get("exceptions")
    workload = Workload(
        PLATFORM, Where(object=f"service {service}"), image=run.get("image"), user=_text(run.get("user")),
        read_only_root=run.get("read_only") is True, mounts=_mounts(run),
        cap_add=list(run.get("cap_add") or []), cap_drop=list(run.get("cap_drop") or []),
        privilege_escalation=not any(_no_new_privileges(option) for option in run.get("security_opt") or []),
        privileged=run.get("privileged") is True, host_network=run.get("network_mode") == "host",
        host_pid=run.get("pid") == "host", host_ipc=run.get("ipc") == "host", init=run.get("init") is True,
        published_ports=[PublishedPort(port.get("target"), str(port.get("published") or "") or None,
                                       port.get("host_ip") or None) for port in run.get("ports") or []],
        probes=_probes(run), environment=_environment(written), resources=_resources(run),
        home=SERVICE_HOME if role == APP else None, data_dir=DATA_DIR if role == APP else None, role=role,
        exceptions={str(rule): str(why or "") for rule, why in exceptions.items()} if isinstance(exceptions, Mapping) else {},
        replicas=_replicas(run))
    workload.texts = list(manifest_texts(raw, service))
    findings = _secret_routes(workload, SpecView(spec), run, written)
    # What `up` gives the container, env-files included; an env-file absent here (nothing came from it)
    # could still name the database host.
    environment = run.get("environment") or {}
    from_env_files = any(key not in _raw_environment(written) for key in environment)
    workload.points_at_database = storage_target(environment, unknown_source=bool(written.get("env_file")) and not from_env_files)
    return workload, findings


# --- every string the files give a process or publish about it (no-literal-secret) ----------------------

def manifest_texts(raw: Document, main: str) -> Iterator[ManifestText]:
    """As written (uninterpolated, so `${NAME}` stays a reference): every service's command, entrypoint,
    healthcheck, labels, annotations, logging options and build arguments, the other services'
    environment (the service's own is its Workload's), and the top-level configs' inline content."""
    for name, service in (raw.get("services") or {}).items():
        if isinstance(service, dict):
            where = None if name == main else Where(object=f"service {name}")
            yield from (dataclasses.replace(text, where=where) for text in _service_texts(service, name == main))
    for name, config in (raw.get("configs") or {}).items():
        if isinstance(config, dict) and isinstance(config.get("content"), str):
            yield ManifestText(f"config {name} content", config["content"], where=Where(object=f"config {name}"))


def _service_texts(service: Document, own: bool) -> Iterator[ManifestText]:
    if not own:  # a bare NAME: only its name is judged; the service's own environment is its Workload's
        yield from (ManifestText("the environment", value or "", key) for key, value in _raw_environment(service).items()
                    if value is None or not REFERENCE.fullmatch(value))
    for field_name in ("command", "entrypoint"):
        yield from (ManifestText(field_name, word) for word in _words(service.get(field_name)))
    yield from (ManifestText("healthcheck test", word) for word in _words((service.get("healthcheck") or {}).get("test")))
    for field_name in ("labels", "annotations"):
        yield from (ManifestText(f"{field_name[:-1]} {key}", f"{key}={value}") for key, value in _pairs(service.get(field_name)))
    options = (service.get("logging") or {}).get("options") or {}
    yield from (ManifestText(f"logging option {key}", f"{key}={value}") for key, value in options.items())
    build = service.get("build")
    yield from (ManifestText(f"build argument {key}", value, key) for key, value in
                _pairs(build.get("args") if isinstance(build, dict) else None) if value is not None)


def _words(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(word) for word in value] if isinstance(value, list) else []


def _pairs(value: object) -> list[tuple[str, str | None]]:
    """Compose's mapping-or-list fields (labels, annotations, build args) as (key, value) pairs."""
    if isinstance(value, dict):
        return [(str(key), None if item is None else str(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [(key, item) for key, _, item in (str(entry).partition("=") for entry in value)]
    return []


def _replicas(run: Document) -> int:
    """How many containers `up` starts: `scale`, else deploy.replicas, else one."""
    replicas = run.get("scale", ((run.get("deploy") or {}).get("replicas")))
    return int(replicas) if isinstance(replicas, int) or str(replicas or "").isdigit() else 1


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _no_new_privileges(option: str) -> bool:
    return option.replace("=", ":") in ("no-new-privileges", "no-new-privileges:true")


def _mounts(run: Document) -> list[Mount]:
    backings = {"bind": HOST_PATH, "volume": VOLUME, "tmpfs": TMPFS}
    mounts = [Mount(volume.get("target", ""), backings.get(volume.get("type", ""), OTHER), volume.get("source"),
                    not volume.get("read_only")) for volume in run.get("volumes") or []]
    mounts += [Mount(str(item).split(":")[0], TMPFS) for item in run.get("tmpfs") or []]
    # Outside Swarm, Compose bind-mounts each secret's file by itself: an editor's replacement (a new file
    # renamed over the old) never reaches the container, which keeps the old inode.
    stale = ("bind-mounted as a single file, so a replaced file never reaches the running container: "
             "`docker compose up -d --force-recreate` after changing it, or bind-mount the secrets directory")
    mounts += [Mount(_secret_target(secret), SECRET_FILES, secret.get("source"), writable=False, stale_on_change=stale)
               for secret in run.get("secrets") or []]
    return mounts


def _secret_target(secret: Document) -> str:
    target = secret.get("target") or secret.get("source") or ""
    return target if target.startswith("/") else f"/run/secrets/{target}"


def _probes(run: Document) -> list[Any]:
    check = run.get("healthcheck") or {}
    test = check.get("test") or []
    if check.get("disable") or not test or test == ["NONE"]:
        return []
    return [command_probe("healthcheck", test)]


def _resources(run: Document) -> Resources:
    limits = ((run.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    return Resources({key: str(value) for key, value in (("cpu", limits.get("cpus")), ("memory", limits.get("memory")))
                      if value})


def _raw_environment(written: Document) -> dict[str, str | None]:
    """The uninterpolated environment as {key: value or None}: Compose keeps the list form here."""
    environment = written.get("environment") or {}
    if isinstance(environment, dict):
        return dict(environment)
    pairs = (item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return {key: value for key, value in pairs}


def _environment(written: Document) -> list[EnvironmentEntry]:
    entries = []
    for key, value in _raw_environment(written).items():
        if value is None:
            entries.append(EnvironmentEntry(key, reference="the environment of `docker compose`"))
        elif REFERENCE.fullmatch(value):
            entries.append(EnvironmentEntry(key, reference=value))
        else:
            entries.append(EnvironmentEntry(key, literal=value))
    return entries


def _secret_routes(workload: Workload, view: SpecView, run: Document, written: Document) -> list[Finding]:
    raw_environment = _raw_environment(written)
    _environment_routes(workload, view, raw_environment)
    loaded = _env_file_values(workload, view, run, raw_environment)
    for mount in workload.mounts:
        entry = view.entry_for_key(os.path.basename(mount.path)) if mount.backing == SECRET_FILES else None
        if entry:
            workload.secret_routes.setdefault(entry.name, f"secret {mount.source}")
    declared = written.get("env_file") or []
    unresolved = [entry.name for entry in view.secrets if entry.name not in workload.secret_routes]
    if not (declared and not loaded and unresolved):
        return []
    workload.secret_routes.update(dict.fromkeys(unresolved, "env_file"))
    paths = ", ".join(_shown_path(item.get("path", "")) for item in declared)
    return [Finding(None, WARNING, f"env_file {paths} is not present here, so its keys were not checked; "
                                   f"{', '.join(unresolved)} are taken to come from it", "env-file", workload.where)]


def _environment_routes(workload: Workload, view: SpecView, raw_environment: Mapping[str, str | None]) -> None:
    for key, value in raw_environment.items():
        file_entry = view.entry_for_file_variable(key) if value else None
        entry = file_entry or view.entry_for_key(key)
        if entry:
            workload.secret_routes.setdefault(entry.name, key if file_entry else "environment")


def _env_file_values(workload: Workload, view: SpecView, run: Document, raw_environment: Mapping[str, str | None]) -> bool:
    """The keys Compose added from env_file entries (it reads them while interpolating): values the
    deployment carries, reachable by file. Whether there were any."""
    loaded = False
    for key, value in (run.get("environment") or {}).items():
        if key in raw_environment:
            continue
        loaded = True
        view.remember(key, value)
        workload.carried_values.append(CarriedValue(key, value or "", "the env_file"))
        entry = view.entry_for_key(key)
        if entry:
            workload.secret_routes.setdefault(entry.name, "env_file")
    return loaded


def _shown_path(path: str) -> str:
    # Compose prefixes the project directory to an uninterpolated path: show what the user wrote.
    return path[path.index("${"):] if "${" in path else path
