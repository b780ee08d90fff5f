"""Kubernetes' own rules for the database beside the DeepTempo service (the shared rules judge its pod as
well, platforms/judging.py): its password is the key the service reads, in the same Secret, readable by
the database's user; its data on a volume claim; the service's POSTGRES_HOST names a Service that
selects it; a NetworkPolicy admits only the service; probes ask the real server. A pure function of the
rendered documents."""

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from deeptempo_deploy.platforms.k8s.load import Document, PodTemplate
from deeptempo_deploy.platforms.model import APP, DATABASE, Workload
from deeptempo_entrypoint.constants import DATABASE_HOST_VARIABLE
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding

PASSWORD = "POSTGRES_PASSWORD"
PASSWORD_FILE = "POSTGRES_PASSWORD_FILE"
DEFAULT_PGDATA = "/var/lib/postgresql/data"
OTHER_READ = 0o004


def database_findings(documents: Sequence[Document], templates: Sequence[PodTemplate],
                      workloads: Sequence[Workload]) -> list[Finding]:
    """`templates` and `workloads` pair up (load's order): the service's and each database's."""
    pairs = list(zip(templates, workloads, strict=True))
    apps = [(template, workload) for template, workload in pairs if workload.role == APP]
    found: list[Finding] = []
    for template, workload in pairs:
        if workload.role != DATABASE:
            continue
        database = Database(template, workload)
        for app_template, app in apps:
            found += password_findings(database, app)
            found += service_findings(documents, database, app_template, app)
        found += storage_findings(database)
        found += network_policy_findings(documents, database, [template for template, _ in apps])
        found += probe_findings(database)
    return found


class Database:
    def __init__(self, template: PodTemplate, workload: Workload) -> None:
        self.template, self.workload = template, workload
        self.container: Document = template.container or {}
        self.environment = {item.get("name"): item for item in self.container.get("env") or []}

    def finding(self, rule: str, message: str, level: str = ERROR) -> Finding:
        return Finding(None, level, message, rule, self.workload.where)

    def value(self, name: str) -> str | None:
        item = self.environment.get(name)
        return None if item is None or "valueFrom" in item else str(item.get("value") or "")


def _matches(selector: Mapping[str, Any] | None, labels: Mapping[str, Any]) -> bool:
    """A label selector (matchLabels, or a Service's plain map) that selects pods with `labels`."""
    if not selector:
        return False
    if "matchLabels" in selector or "matchExpressions" in selector:  # a LabelSelector; a Service's is a plain map
        wanted = selector.get("matchLabels") or {}
    else:
        wanted = selector
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


# --- one password ---------------------------------------------------------------------------------------

def _app_password_secret(app: Workload) -> str | None:
    """The Secret the service reads POSTGRES_PASSWORD from, by the route load recorded."""
    route = app.secret_routes.get(PASSWORD) or ""
    for prefix in ("envFrom Secret ", "files of Secret ", "secretKeyRef "):
        if route.startswith(prefix):
            return route[len(prefix):].split("/")[0]
    return None


def password_findings(database: Database, app: Workload) -> Iterator[Finding]:
    path = database.value(PASSWORD_FILE)
    volume, key = _password_volume(database, path) if path else (None, None)
    if volume is None:
        yield database.finding("database-password", f"takes its password from no Secret file: set {PASSWORD_FILE} to a "
                                                    f"file of a Secret volume holding the service's {PASSWORD}")
        return
    secret = volume.get("secretName")
    wanted = _app_password_secret(app)
    if wanted is not None and (secret != wanted or key != PASSWORD):
        yield database.finding("database-password", f"reads key {key} of Secret {secret}, while {app.where.object} reads "
                                                    f"{PASSWORD} from Secret {wanted}: mount that key of that Secret, so "
                                                    "both use one value")
    pod_context = database.template.pod_spec.get("securityContext") or {}
    user = (database.container.get("securityContext") or {}).get("runAsUser", pod_context.get("runAsUser"))
    mode = volume.get("defaultMode", 0o644)
    if user not in (None, 0) and pod_context.get("fsGroup") is None and not (isinstance(mode, int) and mode & OTHER_READ):
        yield database.finding("database-password", f"runs as uid {user} without an fsGroup, so the Secret's files "
                                                    "(root's) are not readable by it; set the pod's fsGroup (the kubelet "
                                                    "then makes them readable by that group, which the process has)")


def _password_volume(database: Database, path: str) -> tuple[dict[str, Any] | None, str | None]:
    """The Secret volume and key that POSTGRES_PASSWORD_FILE reads."""
    volumes = {volume.get("name"): volume for volume in database.template.pod_spec.get("volumes") or []}
    for mount in database.container.get("volumeMounts") or []:
        root = str(mount.get("mountPath", "")).rstrip("/")
        secret = (volumes.get(mount.get("name")) or {}).get("secret")
        if not secret or not path.startswith(root + "/"):
            continue
        relative = path[len(root) + 1:]
        items = secret.get("items")
        if items:
            key = next((item.get("key") for item in items if item.get("path") == relative), None)
        else:
            key = relative if "/" not in relative else None
        return (dict(secret), key) if key else (None, None)
    return None, None


# --- reaching it ------------------------------------------------------------------------------------------

def service_findings(documents: Sequence[Document], database: Database, app_template: PodTemplate,
                     app: Workload) -> Iterator[Finding]:
    """The service's POSTGRES_HOST names a Service that selects the database's pods."""
    host = _app_setting(documents, app_template, DATABASE_HOST_VARIABLE)
    selecting = [document for document in documents if document.get("kind") == "Service"
                 and _matches((document.get("spec") or {}).get("selector"), database.template.labels)]
    if not selecting:
        yield database.finding("database-network", "no Service selects the database's pods: the service cannot reach "
                                                   "it by name; add a headless Service")
        return
    names = {str((document.get("metadata") or {}).get("name")) for document in selecting}
    if host is not None and host.split(".")[0] not in names:
        yield database.finding("database-network", f"{app.where.object} sets {DATABASE_HOST_VARIABLE} to another host "
                                                   f"than the database's Service ({', '.join(sorted(names))})", level=WARNING)


def _app_setting(documents: Sequence[Document], template: PodTemplate, name: str) -> str | None:
    """A setting of the service's container, literal or from a ConfigMap in the manifests."""
    configmaps = {(d.get("metadata") or {}).get("name"): d.get("data") or {} for d in documents if d.get("kind") == "ConfigMap"}
    value: str | None = None
    for source in (template.container or {}).get("envFrom") or []:
        data = configmaps.get((source.get("configMapRef") or {}).get("name")) or {}
        value = str(data[name]) if name in data else value
    for item in (template.container or {}).get("env") or []:
        if item.get("name") != name:
            continue
        ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
        value = str(item.get("value") or "") if ref is None else str((configmaps.get(ref.get("name")) or {}).get(ref.get("key"), "")) or None
    return value


def network_policy_findings(documents: Sequence[Document], database: Database,
                            apps: Sequence[PodTemplate]) -> Iterator[Finding]:
    """A NetworkPolicy selects the database's pods and admits the service's alone."""
    policies = [document for document in documents if document.get("kind") == "NetworkPolicy"
                and _matches((document.get("spec") or {}).get("podSelector"), database.template.labels)
                and "Ingress" in ((document.get("spec") or {}).get("policyTypes") or ["Ingress"])]
    if not policies:
        yield database.finding("database-network", "no NetworkPolicy selects the database's pods: every pod of the "
                                                   "cluster may connect; admit the service's pods only", level=WARNING)
        return
    for policy in policies:
        if not all(_admits_only(rule.get("from") or [], apps) for rule in (policy.get("spec") or {}).get("ingress") or []):
            name = (policy.get("metadata") or {}).get("name")
            yield database.finding("database-network", f"NetworkPolicy {name} admits more than the service's pods",
                                   level=WARNING)


def _admits_only(peers: Sequence[Mapping[str, Any]], apps: Sequence[PodTemplate]) -> bool:
    """An ingress rule's peers select the service's pods and nothing else (no namespace, no address block)."""
    return bool(peers) and all(_matches(peer.get("podSelector"), app.labels) and "namespaceSelector" not in peer
                               and "ipBlock" not in peer for peer in peers for app in apps)


# --- data and probes --------------------------------------------------------------------------------------

def storage_findings(database: Database) -> Iterator[Finding]:
    pgdata = database.value("PGDATA") or DEFAULT_PGDATA
    mount = database.workload.mounted(pgdata)
    claims = {claim.get("metadata", {}).get("name") for claim in
              (database.template.document.get("spec") or {}).get("volumeClaimTemplates") or []}
    mounted_claim = next((item.get("name") for item in database.container.get("volumeMounts") or []
                          if pgdata == item.get("mountPath", "").rstrip("/")
                          or pgdata.startswith(item.get("mountPath", "").rstrip("/") + "/")), None)
    if mounted_claim in claims or (mount is not None and mount.backing == "volume"):
        return
    if mount is None:
        yield database.finding("database-storage", f"nothing writable is mounted at {os.path.dirname(pgdata) or pgdata}: "
                                                   "mount a persistentVolumeClaim (volumeClaimTemplates) for the data")
    else:
        yield database.finding("database-storage", f"{pgdata} is on an emptyDir: the database is lost with the pod; use "
                                                   "a persistentVolumeClaim (volumeClaimTemplates)", level=WARNING)


def probe_findings(database: Database) -> Iterator[Finding]:
    """pg_isready over TCP (the temporary server of a first start answers on the unix socket only)."""
    probe = database.container.get("readinessProbe") or {}
    command = " ".join(map(str, (probe.get("exec") or {}).get("command") or []))
    if not probe:
        yield database.finding("database-probe", "has no readinessProbe: the Service sends connections before it is "
                                                 "ready; probe pg_isready -h 127.0.0.1")
    elif "pg_isready" in command and " -h" not in f" {command}":
        yield database.finding("database-probe", "pg_isready without -h asks the unix socket, where the temporary "
                                                 "server of a first start answers before the database is ready; add "
                                                 "-h 127.0.0.1", level=WARNING)
