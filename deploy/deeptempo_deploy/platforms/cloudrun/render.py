"""`render cloudrun`: the Knative-style service Cloud Run deploys (`gcloud run services replace`), each
secret of the spec from Secret Manager, and in a file of its own the IAM bindings those secrets need, in
the shape `gcloud secrets get-iam-policy` prints, so a user can compare them with what is deployed.

By default each secret is a file in a volume of its own on `latest` (Cloud Run cannot put several
secrets in one directory), found by the kit through NAME_FILE and followed while the service runs; with
--secrets-as env each is a variable resolved once, when an instance starts, so its version is pinned."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from deeptempo_deploy.platforms.cloudrun import (
    CONTAINER,
    EXECUTION_ENVIRONMENT,
    IAM_POLICY,
    INGRESS,
    LATEST,
    MAX_SCALE,
    SECRET_ACCESSOR,
    SECRETS_ROOT,
    SERVICE,
)
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint.constants import DATA_BACKEND_VARIABLE, DATABASE_HOST_VARIABLE, FILE_SUFFIX
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.spec.model import Entry, Spec

SECRETS_AS = ("files", "env")
DATABASE_PASSWORD = "POSTGRES_PASSWORD"
# Tells the kit's rotation to compare a followed file's content too (bounded, hashed): a read of a
# Cloud Run secret volume may return a new version with nothing `stat` sees changed.
COMPARE_CONTENT_VARIABLE = "DEEPTEMPO_FOLLOW_FILE_CONTENT"
PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
# Seconds a start may take before the startup probe gives up: the real backend's measured start (to 48 s
# on a loaded machine, README.md "Start-up budgets") with room to spare, as ECS's startPeriod.
STARTUP_PERIOD, STARTUP_FAILURES = 5, 24


@dataclass
class CloudRunOptions:
    """The documented example values render the committed files (docs/platforms/cloudrun.md)."""

    project: str = "deeptempo-prod"
    region: str = "us-central1"
    name: str = "deeptempo"
    image: str | None = None  # default: the project's Artifact Registry deeptempo/deeptempo-ai-soc:0.1.0
    service_account: str | None = None  # default: deeptempo-run@PROJECT.iam.gserviceaccount.com
    secrets_as: str = "files"
    version: str = "1"  # the version an environment secret is pinned to
    prefix: str = "deeptempo-"  # Secret Manager ids: PREFIX + the name in lower case, `_` as `-`
    only: tuple[str, ...] = ()
    cpu: str = "1"
    memory: str = "1Gi"
    concurrency: int = 80
    database_host: str | None = None  # None: JSON files, so one instance at most

    def __post_init__(self) -> None:
        if not PROJECT_ID.fullmatch(self.project):
            raise ConfigError("--project must be a Google Cloud project id (6-30 lower-case letters, digits and -)")
        if not re.fullmatch(r"[a-z]+-[a-z]+\d", self.region):
            raise ConfigError("--region must be a Cloud Run region such as us-central1")
        if not re.fullmatch(r"[a-z]([a-z0-9-]{0,47}[a-z0-9])?", self.name):
            raise ConfigError("--name must be a Cloud Run service name (lower-case letters, digits and -)")
        if self.secrets_as not in SECRETS_AS:
            raise ConfigError(f"--secrets-as must be one of {', '.join(SECRETS_AS)}")
        if not self.version.isdigit() or self.version == "0":
            raise ConfigError("--version must be a secret version number (an environment secret is pinned: not latest)")
        if not re.fullmatch(r"[A-Za-z0-9_-]{0,100}", self.prefix):
            raise ConfigError("--prefix may hold letters, digits, _ and - only (a Secret Manager id's characters)")
        if self.database_host is not None and not re.fullmatch(r"[A-Za-z0-9.:-]{1,253}", self.database_host):
            raise ConfigError("--database-host must be a host name or address")
        self.image = self.image or f"{self.region}-docker.pkg.dev/{self.project}/deeptempo/deeptempo-ai-soc:0.1.0"
        self.service_account = self.service_account or f"deeptempo-run@{self.project}.iam.gserviceaccount.com"
        if not re.fullmatch(r"[a-z0-9-]+@[a-z0-9.-]+\.iam\.gserviceaccount\.com", self.service_account):
            raise ConfigError("--service-account must be a service account's e-mail (NAME@PROJECT.iam.gserviceaccount.com)")


def secret_id(options: CloudRunOptions, entry: Entry) -> str:
    return options.prefix + entry.name.lower().replace("_", "-")


def chosen_secrets(spec: Spec, options: CloudRunOptions) -> list[Entry]:
    view = SpecView(spec)
    names = {entry.name for entry in view.secrets}
    unknown = [name for name in options.only if name not in names]
    if unknown:
        raise ConfigError(f"--only: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a secret of the spec")
    # With a database its password is delivered whatever --only says (POSTGRES_HOST requires it); without
    # one it has nothing to open.
    return [entry for entry in view.secrets
            if (entry.name == DATABASE_PASSWORD and options.database_host is not None)
            or (entry.name != DATABASE_PASSWORD and (not options.only or entry.name in options.only))]


def mount_path(entry: Entry) -> str:
    return f"{SECRETS_ROOT}/{entry.name.lower().replace('_', '-')}"


def render_service(spec: Spec, options: CloudRunOptions) -> dict[str, Any]:
    chosen = chosen_secrets(spec, options)
    settings = ({DATABASE_HOST_VARIABLE: options.database_host} if options.database_host
                else {DATA_BACKEND_VARIABLE: "json"})
    environment: list[dict[str, Any]] = [{"name": name, "value": value} for name, value in sorted(settings.items())]
    volumes, mounts = [], []
    if options.secrets_as == "files":
        environment.append({"name": COMPARE_CONTENT_VARIABLE, "value": "1"})
        for entry in chosen:
            volume = entry.name.lower().replace("_", "-")
            file_name = SpecView.file_name(entry)
            volumes.append({"name": volume, "secret": {"secretName": secret_id(options, entry),
                                                       "items": [{"key": LATEST, "path": file_name}]}})
            mounts.append({"name": volume, "mountPath": mount_path(entry), "readOnly": True})
            environment.append({"name": entry.name + FILE_SUFFIX, "value": f"{mount_path(entry)}/{file_name}"})
    else:
        environment += [{"name": entry.name, "valueFrom": {"secretKeyRef": {"name": secret_id(options, entry),
                                                                              "key": options.version}}}
                        for entry in chosen]
    def probe() -> dict[str, Any]:  # a new mapping each time: PyYAML would write a shared one as an alias
        return {"httpGet": {"path": spec.health_path, "port": spec.port}}

    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": options.image,
        "ports": [{"name": "http1", "containerPort": spec.port}],
        "env": environment,
        "resources": {"limits": {"cpu": options.cpu, "memory": options.memory}},
        "startupProbe": {**probe(), "periodSeconds": STARTUP_PERIOD, "timeoutSeconds": 3, "failureThreshold": STARTUP_FAILURES},
        "livenessProbe": {**probe(), "periodSeconds": 30, "timeoutSeconds": 5, "failureThreshold": 3},
    }
    if mounts:
        container["volumeMounts"] = mounts
    template_spec: dict[str, Any] = {"containerConcurrency": options.concurrency, "timeoutSeconds": 300,
                                     "serviceAccountName": options.service_account, "containers": [container]}
    if volumes:
        template_spec["volumes"] = volumes
    # One instance without a database: each would keep its own JSON files.
    max_scale = "10" if options.database_host else "1"
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": options.name, "labels": {"cloud.googleapis.com/location": options.region},
                     "annotations": {INGRESS: "internal"}},
        "spec": {"template": {
            "metadata": {"annotations": {EXECUTION_ENVIRONMENT: "gen2", MAX_SCALE: max_scale}},
            "spec": template_spec,
        }},
    }


def render_iam_policy(service: dict[str, Any], options: CloudRunOptions) -> list[dict[str, Any]]:
    """For each secret the service reads, one resource and its policy: secretAccessor for the service's
    own account on that secret only (never on the project)."""
    account = service["spec"]["template"]["spec"]["serviceAccountName"]
    names = sorted(set(secret_names(service)))
    return [{"resource": f"projects/{options.project}/secrets/{name}",
             "policy": {"bindings": [{"role": SECRET_ACCESSOR, "members": [f"serviceAccount:{account}"]}]}}
            for name in names]


def secret_names(service: Mapping[str, Any]) -> list[str]:
    """Every Secret Manager secret the service reads, by volume and by environment."""
    template = ((service.get("spec") or {}).get("template") or {}).get("spec") or {}
    names = [str((volume.get("secret") or {}).get("secretName")) for volume in template.get("volumes") or []
             if isinstance(volume, dict) and volume.get("secret")]
    for container in template.get("containers") or []:
        for item in (container or {}).get("env") or []:
            ref = ((item or {}).get("valueFrom") or {}).get("secretKeyRef")
            if isinstance(ref, dict) and ref.get("name"):
                names.append(str(ref["name"]))
    return [name.rsplit("/", 1)[-1] for name in names]


def dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=120)


def render(spec: Spec, options: CloudRunOptions | None = None) -> dict[str, str]:
    options = options or CloudRunOptions()
    service = render_service(spec, options)
    header = ("# Rendered by `deeptempo-deploy render cloudrun` from the secrets spec: edit the spec, re-render.\n"
              "# Deploy: gcloud run services replace {file} --region {region}\n")
    policy_header = ("# Rendered by `deeptempo-deploy render cloudrun`: the IAM policy of each secret the service reads,\n"
                     "# as `gcloud secrets get-iam-policy NAME --project {project}` prints it. Grant each:\n"
                     "# gcloud secrets add-iam-policy-binding NAME --role {role} --member MEMBER\n")
    return {SERVICE: header.format(file=SERVICE, region=options.region) + dump(service),
            IAM_POLICY: policy_header.format(project=options.project, role=SECRET_ACCESSOR)
            + dump(render_iam_policy(service, options))}
