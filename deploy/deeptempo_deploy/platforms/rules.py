"""The rules every platform shares, run once over the workload model (platforms/model.py) with the spec
in use. One id per rule, the same on every platform; each rule is a small function that yields findings
naming the secret or field, never a value. A rule whose subject a platform cannot express (None in the
workload) says nothing for it. A platform adds only the rules only it can have, in its own verify."""

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from deeptempo_deploy.platforms.model import APP, HOST_PATH, SECRET_FILES, Workload
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_deploy.redaction import remember
from deeptempo_entrypoint.constants import DATA_BACKEND_VARIABLE, DATABASE_HOST_VARIABLE, FILE_SUFFIX, STATE_DIR_NAME
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding, Where
from deeptempo_entrypoint.spec.model import ALL_OR_NONE, ONE_OF, REQUIRED, REQUIRED_WITH, Spec, Unmet
from deeptempo_entrypoint.validation import value_findings

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
# Host paths no workload of the kit mounts: the engine's socket (root on the host) and system trees.
SYSTEM_DIRECTORIES = frozenset({"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc", "/root",
                                "/run", "/sbin", "/srv", "/sys", "/usr", "/var", "/var/lib", "/var/log", "/var/run"})
SYSTEM_TREES = ("/boot/", "/dev/", "/etc/", "/proc/", "/root/", "/sys/", "/usr/", "/var/lib/docker", "/var/lib/kubelet",
                "/var/lib/containerd", "/run/containerd", "/var/run/docker", "/run/docker")


class Rule(NamedTuple):
    id: str
    check: Callable[[Workload, Spec], Iterable[Finding]]
    summary: str


def finding(workload: Workload, rule: str, message: str, *, level: str = ERROR, secret: str | None = None,
            line: int | None = None) -> Finding:
    return Finding(secret, level, message, rule, workload.where.at(line) if line else workload.where)


# --- secrets ----------------------------------------------------------------------------------------

def secret_reachable(workload: Workload, spec: Spec) -> Iterator[Finding]:
    """Every required secret reaches the service, a one_of group by at least one member, an all_or_none
    group by all of its members or none."""
    # A setting the manifest sets counts as present too: it may require a secret (required_with).
    present = {*workload.secret_routes, *(entry.name for entry in workload.environment if entry.literal or entry.reference)}
    for unmet in spec.unmet(present):
        yield finding(workload, "secret-reachable", _unmet_message(unmet), secret=unmet.missing[0])


def _unmet_message(unmet: Unmet) -> str:
    if unmet.kind == REQUIRED:
        return f"the required {unmet.names[0]} reaches the service by no env-file, environment reference or secret"
    if unmet.kind == ONE_OF:
        return f"none of {', '.join(unmet.names)} reaches the service; one of them is required"
    if unmet.kind == REQUIRED_WITH:
        return f"{unmet.group} reaches the service, so {unmet.names[0]} is required, and it reaches it by no route"
    assert unmet.kind == ALL_OR_NONE
    return (f"{', '.join(unmet.present)} reaches the service but {', '.join(unmet.missing)} does not; the {unmet.group} "
            "group needs all of them or none")


def no_literal_secret(workload: Workload, spec: Spec) -> Iterator[Finding]:
    """A secret written in the manifest, wherever it is given to a process or published about it: the
    service container's environment and every other string the loader found (Workload.texts: other
    containers, ConfigMaps a container takes, commands, probes, annotations, labels, log options). A
    variable counts by its name (a secret's, or one that looks like one) or by its value; any string by a
    secret's shape anywhere in it (`Bearer sk-ant-...`, a JSON blob). A NAME_FILE path is a route."""
    view = SpecView(spec)
    for item in workload.environment:
        yield from _literal_findings(view, None, item.literal or "", item.name,
                                     workload.where.at(item.line) if item.line else workload.where)
    for text in workload.texts:
        yield from _literal_findings(view, text.place, text.text, text.variable, text.where or workload.where)


LITERAL_FIX = "pass it by reference (a secret, an env-file, a variable from the environment) so the value stays out of the manifest"


def _literal_findings(view: SpecView, place: str | None, value: str, variable: str | None,
                      where: Where) -> Iterator[Finding]:
    """`place` None: the service container's own environment; else where the string is, for the message."""
    name_shape = _shape(view.spec, variable or "")
    if name_shape:  # a list item with no `=`: the "name" is a pasted value, so it is never quoted
        remember(variable)
        yield Finding(None, ERROR, f"an environment entry{f' of {place}' if place else ''} has the format of {name_shape}: "
                                   f"a secret pasted into the manifest; {LITERAL_FIX}", "no-literal-secret", where)
        return
    shape = _shape(view.spec, value)
    if not value or variable and variable.endswith(FILE_SUFFIX) and not shape:
        return  # nothing written, or NAME_FILE=/path: where the secret is, not what it is
    is_secret = bool(variable) and view.is_secret_key(variable or "")
    if not (is_secret or shape):
        return
    remember(value)
    if variable:
        within = f" in {place}" if place else ""
        why = "is a secret" if is_secret else f"has the format of {shape}"
        message = f"{variable} is written literally{within} and {why}"
    else:
        message = f"{place} holds a value of the format of {shape}: a secret written into the manifest"
    yield Finding(variable, ERROR, f"{message}; {LITERAL_FIX}", "no-literal-secret", where)


def _shape(spec: Spec, text: str) -> str | None:
    """What a part of `text` has the shape of (a secret's name, or a URL with a password), or None."""
    spans = spec.secret_spans(text) if text else []
    return spans[0][2] if spans else None


def secret_value(workload: Workload, spec: Spec) -> Iterator[Finding]:
    """The secret values a deployment carries, checked as `check` checks them in the container, and the
    quotes that Docker's --env-file, Compose and Kustomize keep as part of a value."""
    for carried in workload.carried_values:
        entry = spec.entry_for(carried.name)
        if entry is None or not carried.value:
            continue  # an unknown key is its platform's finding; an empty value is a value not set
        for problem in value_findings(entry, carried.value, carried.origin, spec, at=workload.where):
            yield problem._replace(rule="secret-value")


# --- hardening ---------------------------------------------------------------------------------------

def non_root(workload: Workload, spec: Spec) -> Iterator[Finding]:
    user = (workload.user or "").split(":")[0]
    if user in ("0", "root"):
        yield finding(workload, "non-root", "runs as root; run it as the service user 10001:10001")
    elif not user and not workload.non_root_enforced:
        yield finding(workload, "non-root", "sets no user, so the image's decides; set 10001:10001 (or enforce non-root)")


def read_only_root(workload: Workload, spec: Spec) -> Iterator[Finding]:
    if workload.read_only_root is False:
        yield finding(workload, "read-only-root", "the root filesystem is writable; make it read-only")


def tmp_writable(workload: Workload, spec: Spec) -> Iterator[Finding]:
    if workload.read_only_root and not workload.mounted("/tmp"):
        yield finding(workload, "tmp-writable", "nothing writable is mounted at /tmp (a read-only root needs it)")


def writable_state(workload: Workload, spec: Spec) -> Iterator[Finding]:
    """A read-only root needs writable mounts where the backend writes: ~/.deeptempo (it opens its log
    there at import, so it dies at start without one) and its JSON storage (used without PostgreSQL)."""
    if not workload.read_only_root:
        return
    if workload.home and not workload.mounted(f"{workload.home}/{STATE_DIR_NAME}"):
        yield finding(workload, "writable-state", f"the root is read-only but nothing writable is mounted at "
                                                  f"{workload.home}/{STATE_DIR_NAME} (the app's log and saved settings)")
    if workload.data_dir and not workload.mounted(workload.data_dir):
        yield finding(workload, "writable-state", f"nothing writable at {workload.data_dir}: the backend's JSON storage "
                                                  "fails on its first save without PostgreSQL", level=WARNING)


def cap_drop_all(workload: Workload, spec: Spec) -> Iterator[Finding]:
    if workload.cap_drop is not None and "ALL" not in workload.cap_drop:
        yield finding(workload, "cap-drop-all", "not every capability is dropped; drop ALL (the service needs none)")


def no_added_capabilities(workload: Workload, spec: Spec) -> Iterator[Finding]:
    if workload.cap_add:
        yield finding(workload, "no-added-capabilities", f"adds {', '.join(workload.cap_add)}; the service needs no capability")


def no_privilege_escalation(workload: Workload, spec: Spec) -> Iterator[Finding]:
    if workload.privilege_escalation:
        yield finding(workload, "no-privilege-escalation", "privilege escalation is not prevented (no-new-privileges)")


def no_privileged(workload: Workload, spec: Spec) -> Iterator[Finding]:
    if workload.privileged:
        yield finding(workload, "no-privileged", "runs privileged (every capability and device of the host)")


def no_host_namespace(workload: Workload, spec: Spec) -> Iterator[Finding]:
    shared = [name for name, on in (("network", workload.host_network), ("PID", workload.host_pid),
                                    ("IPC", workload.host_ipc)) if on]
    if shared:
        yield finding(workload, "no-host-namespace", f"shares the host's {', '.join(shared)} namespace")


def no_host_path(workload: Workload, spec: Spec) -> Iterator[Finding]:
    for mount in workload.mounts:
        source = (mount.source or "").rstrip("/") or "/"
        if mount.backing != HOST_PATH:
            continue
        if source.endswith(".sock"):
            yield finding(workload, "no-host-path", f"mounts the host's {source} at {mount.path}: an engine's socket is "
                                                    "root on the host")
        elif source in SYSTEM_DIRECTORIES or source.startswith(SYSTEM_TREES):
            yield finding(workload, "no-host-path", f"mounts the host's system directory {source} at {mount.path}")


def init(workload: Workload, spec: Spec) -> Iterator[Finding]:
    if workload.init is False:
        yield finding(workload, "init", "runs without an init (it reaps the MCP servers' zombies); turn it on")


# --- reaching the service -----------------------------------------------------------------------------

def health_probe(workload: Workload, spec: Spec) -> Iterator[Finding]:
    """The probes ask the spec's health path on the spec's port."""
    if workload.probes is None:
        return
    target = f"GET {spec.health_path} on port {spec.port}"
    names = {probe.name for probe in workload.probes}
    for name in workload.expected_probes:
        if name not in names:
            yield finding(workload, "health-probe", f"no {name}; probe {target}")
    if not workload.probes and not workload.expected_probes:
        yield finding(workload, "health-probe", f"no health probe; probe {target}")
    for probe in workload.probes:
        if (probe.path, probe.port) != (spec.health_path, spec.port):
            yield finding(workload, "health-probe", f"the {probe.name} does not {target}")


def service_port(workload: Workload, spec: Spec) -> Iterator[Finding]:
    if workload.container_ports is not None and spec.port not in workload.container_ports:
        yield finding(workload, "service-port", f"no container port {spec.port}, where the service listens")


def loopback_only(workload: Workload, spec: Spec) -> Iterator[Finding]:
    for port in workload.published_ports or []:
        published = f"{port.host_port or ''}:{port.container_port}"
        if port.bind_address is None:
            yield finding(workload, "loopback-only", f"port {published} is published on every interface; publish it on "
                                                     "127.0.0.1 (or set the bind address explicitly)")
        elif port.bind_address not in LOOPBACK:
            yield finding(workload, "loopback-only", f"port {published} is published on {port.bind_address} (an explicit "
                                                     "wider bind)", level=WARNING)


def resources(workload: Workload, spec: Spec) -> Iterator[Finding]:
    if workload.resources is None:
        return
    kinds = [("limits", workload.resources.limits), ("requests", workload.resources.requests)]
    missing = [f"{kind}.{name}" for kind, values in kinds if values is not None for name in ("cpu", "memory")
               if not values.get(name)]
    if missing:
        yield finding(workload, "resources", f"sets no {', '.join(missing)}")


def policy_of(name: str, spec: Spec) -> str:
    """A secret with what a change of it needs (the spec's rotation policy) and why, as verify tells it."""
    entry = spec.entry_for(name)
    if entry is None or entry.rotation is None:
        return name
    why = f": {entry.rotation_why}" if entry.rotation_why else ""
    return f"{name} (rotation {entry.rotation}{why})"


def rotation(workload: Workload, spec: Spec) -> Iterator[Finding]:
    """Warnings only: a rotated secret that would not reach the running service."""
    stale: dict[str, list[str]] = {}
    for mount in workload.mounts:
        if mount.backing == SECRET_FILES and mount.stale_on_change:
            stale.setdefault(mount.stale_on_change, []).append(mount.path)
    for why, paths in stale.items():
        yield finding(workload, "rotation", f"{', '.join(paths)}: {why}", level=WARNING)
    by_environment = sorted(workload.environment_secrets)
    if workload.rollout_trigger == "" and by_environment:
        yield finding(workload, "rotation", f"{', '.join(policy_of(name, spec) for name in by_environment)} reach the "
                      "environment, which a running container "
                      "never sees change, and nothing rolls the pods when the Secret changes: generate it (a "
                      "secretGenerator's name hash), annotate the pod template (checksum/secret, a Reloader annotation), "
                      "or mount it as files (components/secret-files), which are followed without a restart",
                      level=WARNING)


def shared_storage(workload: Workload, spec: Spec) -> Iterator[Finding]:
    """More than one copy of the service (replicas, or an autoscaler that may add them) needs one
    database: without it each copy keeps its own JSON files and their data diverge."""
    if workload.role != APP or not ((workload.replicas or 1) > 1 or workload.autoscaled):
        return
    copies = f"{workload.replicas} replicas" if (workload.replicas or 1) > 1 else "under an autoscaler that may add replicas"
    fix = (f"set {DATABASE_HOST_VARIABLE} (with POSTGRES_PASSWORD) and leave {DATA_BACKEND_VARIABLE} at database, or run "
           "one replica")
    if workload.points_at_database is False:
        yield finding(workload, "shared-storage", f"runs {copies} without a database ({DATABASE_HOST_VARIABLE} unset or "
                                                  f"{DATA_BACKEND_VARIABLE}=json): each keeps its own JSON files, so what "
                                                  f"one saves the others never see; {fix}")
    elif workload.points_at_database is None:
        yield finding(workload, "shared-storage", f"runs {copies}, and whether {DATABASE_HOST_VARIABLE} names a database "
                                                  "is set outside these manifests: make sure it does, or the copies keep "
                                                  "diverging JSON files", level=WARNING)


RULES = (
    Rule("secret-reachable", secret_reachable, "every required secret reaches the service (one_of, all_or_none)"),
    Rule("no-literal-secret", no_literal_secret, "no secret written anywhere in the manifest, by name or by format"),
    Rule("secret-value", secret_value, "values the deployment carries pass the spec's checks"),
    Rule("non-root", non_root, "runs as a non-root user"),
    Rule("read-only-root", read_only_root, "a read-only root filesystem"),
    Rule("tmp-writable", tmp_writable, "a writable /tmp beside a read-only root"),
    Rule("writable-state", writable_state, "writable ~/.deeptempo and data directory beside a read-only root"),
    Rule("cap-drop-all", cap_drop_all, "every capability dropped"),
    Rule("no-added-capabilities", no_added_capabilities, "no capability added"),
    Rule("no-privilege-escalation", no_privilege_escalation, "no privilege escalation (no-new-privileges)"),
    Rule("no-privileged", no_privileged, "not privileged"),
    Rule("no-host-namespace", no_host_namespace, "no host network, PID or IPC namespace"),
    Rule("no-host-path", no_host_path, "no engine socket or system directory of the host mounted"),
    Rule("init", init, "an init process"),
    Rule("health-probe", health_probe, "health probes on the spec's health path and port"),
    Rule("service-port", service_port, "the spec's port among the container's ports"),
    Rule("loopback-only", loopback_only, "ports published on loopback only"),
    Rule("resources", resources, "CPU and memory limits (and requests where the platform has them)"),
    Rule("rotation", rotation, "a changed secret reaches the running service, or a rollout (warnings)"),
    Rule("shared-storage", shared_storage, "more than one replica (or an autoscaler) only with a database"),
)
RULE_IDS = tuple(rule.id for rule in RULES)


def shared_findings(workloads: Iterable[Workload], spec: Spec) -> list[Finding]:
    return [found for workload in workloads for rule in RULES for found in rule.check(workload, spec)]
