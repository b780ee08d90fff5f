"""`verify cloudrun SERVICE [--iam FILE] [--image IMAGE]`: the service against Google's run.v1 schema
(offline), the annotations Cloud Run reads checked by value, the shared rules over its DeepTempo
container, Cloud Run's own (a secret in the environment on `latest`, ingress `all`, no service account of
its own), and with --iam the bindings: each secret the service reads granted to its account, on that
secret only, and nothing public."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from deeptempo_deploy.platforms.cloudrun import (
    EXECUTION_ENVIRONMENT,
    INGRESS,
    INGRESS_VALUES,
    LATEST,
    MAX_SCALE,
    MIN_SCALE,
    PUBLIC_MEMBERS,
    SECRET_ACCESSOR,
)
from deeptempo_deploy.platforms.cloudrun.load import (
    Document,
    annotations_of,
    env_secret_refs,
    load,
    main_container,
    pod_spec,
    secret_files,
    service_where,
    template_of,
)
from deeptempo_deploy.platforms.cloudrun.render import secret_names
from deeptempo_deploy.platforms.cloudrun.schema import schema_findings
from deeptempo_deploy.platforms.model import Workload
from deeptempo_deploy.platforms.rules import shared_findings
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding, Where
from deeptempo_entrypoint.spec.model import Spec

IAM = Where(object="IAM bindings")
BOOLEAN_ANNOTATIONS = ("run.googleapis.com/cpu-throttling", "run.googleapis.com/startup-cpu-boost",
                       "run.googleapis.com/sessionAffinity")


def verify_cloudrun(service: dict[str, Any], spec: Spec, bindings: Any = None,
                    image_user: str | None = None) -> tuple[list[Finding], dict[str, str]]:
    """`image_user`: the image's USER when it was inspected (--image); None: non-root is unknown."""
    view = SpecView(spec)
    findings = schema_findings(service, view, service_where(service))
    if findings:
        return findings, {}  # the rules below need the shapes the schema checks
    findings += annotation_findings(service)
    container = main_container(service)
    if container is None:
        return findings + [Finding(None, ERROR, "no container runs the DeepTempo image", "containers",
                                   service_where(service))], {}
    workload = load(service, container, spec, image_user)
    shared = shared_findings([workload], spec)
    if image_user is None:  # Cloud Run has no user to set: the image's USER decides, unknown without it
        shared = [finding for finding in shared if finding.rule != "non-root"]
        findings.append(Finding(None, WARNING, "Cloud Run runs the image's USER, not known here: give --image to judge "
                                               "it (the kit's image runs as 10001)", "non-root", workload.where))
    findings += shared
    findings += list(secret_version_findings(workload, container))
    findings += list(secret_file_findings(service, container, workload, view))
    findings += list(account_findings(service, workload))
    findings += list(reserved_findings(container, workload))
    if bindings is not None:
        findings += binding_findings(parse_bindings(bindings), service)
    return findings, workload.secret_routes


def annotation_findings(service: Document) -> list[Finding]:
    """The annotations Cloud Run reads, by value (the schema types them only as strings), each where
    Cloud Run reads it: ingress on the service, the execution environment and scaling on the revision."""
    where = service_where(service)
    on_service, on_revision = annotations_of(service), annotations_of(template_of(service))
    found = []
    ingress = on_service.get(INGRESS)
    if ingress is not None and ingress not in INGRESS_VALUES:
        found.append(Finding(None, ERROR, f"annotation {INGRESS}: must be one of {', '.join(INGRESS_VALUES)}",
                             "cloudrun-annotation", where))
    if ingress is None or ingress == "all":
        found.append(Finding(None, ERROR, f"ingress is {'all (Cloud Run default, as the annotation is unset)' if ingress is None else 'all'}: "
                                          "the service is reachable from the internet; set the service annotation "
                                          f"{INGRESS}: internal (or internal-and-cloud-load-balancing behind a load "
                                          "balancer)", "cloudrun-ingress", where))
    if INGRESS in on_revision:
        found.append(Finding(None, ERROR, f"annotation {INGRESS} belongs on the service's metadata, not the revision "
                                          "template's", "cloudrun-annotation", where))
    environment = on_revision.get(EXECUTION_ENVIRONMENT)
    if EXECUTION_ENVIRONMENT in on_service:
        found.append(Finding(None, ERROR, f"annotation {EXECUTION_ENVIRONMENT} belongs on the revision template "
                                          "(spec.template.metadata)", "cloudrun-annotation", where))
    if environment is not None and environment not in ("gen1", "gen2"):
        found.append(Finding(None, ERROR, f"annotation {EXECUTION_ENVIRONMENT}: must be gen1 or gen2",
                             "cloudrun-annotation", where))
    elif environment != "gen2":
        found.append(Finding(None, WARNING, f"{EXECUTION_ENVIRONMENT} is not gen2: the second generation gives the "
                                            "container a full Linux kernel's isolation and file system semantics",
                             "cloudrun-execution-environment", where))
    for key in (MAX_SCALE, MIN_SCALE):
        value = on_revision.get(key)
        if value is not None and not value.strip().isdigit():
            found.append(Finding(None, ERROR, f"annotation {key}: must be a whole number", "cloudrun-annotation", where))
    for key in BOOLEAN_ANNOTATIONS:
        value = on_revision.get(key)
        if value is not None and value not in ("true", "false"):
            found.append(Finding(None, ERROR, f"annotation {key}: must be true or false", "cloudrun-annotation", where))
    return found


def secret_version_findings(workload: Workload, container: Document) -> Iterator[Finding]:
    """A secret in the environment is resolved once, when an instance starts: on `latest`, which value an
    instance holds depends on when it started, and instances disagree after a new version."""
    for variable, name, version in env_secret_refs(container):
        if version == LATEST:
            yield Finding(variable, ERROR, f"{variable} comes from secret {name} version latest in the environment: "
                                           "each instance keeps the version current when it started; pin a version "
                                           "(key: \"3\") and deploy a revision to change it, or mount it as a file, "
                                           "which follows latest", "cloudrun-env-latest", workload.where)
        elif not version.isdigit():
            yield Finding(variable, WARNING, f"{variable} comes from secret {name} by a version alias in the environment: "
                                             "each instance keeps the version the alias named when it started; pin a "
                                             "version number", "cloudrun-env-latest", workload.where)


def secret_file_findings(service: Document, container: Document, workload: Workload, view: SpecView) -> Iterator[Finding]:
    """A secret volume the kit finds by no NAME_FILE, or a NAME_FILE naming no secret file."""
    files = secret_files(service, container)
    named = {str(item.get("value")) for item in container.get("env") or []
             if isinstance(item, dict) and str(item.get("name", "")).endswith("_FILE")}
    for path, (name, _version) in sorted(files.items()):
        if path not in named:
            yield Finding(None, WARNING, f"{path} (secret {name}) is named by no NAME_FILE variable, so the kit does not "
                                         "read it: set NAME_FILE to it", "cloudrun-secret-file", workload.where)
    for item in container.get("env") or []:
        entry = view.entry_for_file_variable(str((item or {}).get("name", "")))
        value = (item or {}).get("value")
        if entry and entry.is_secret and isinstance(value, str) and value.startswith("/") and value not in files:
            yield Finding(entry.name, ERROR, f"{item['name']} names {value}, which no secret volume of the service "
                                             "holds", "cloudrun-secret-file", workload.where)


def account_findings(service: Document, workload: Workload) -> Iterator[Finding]:
    if not pod_spec(service).get("serviceAccountName"):
        yield Finding(None, ERROR, "no serviceAccountName: the revision runs as the project's default compute "
                                   "account, which often holds Editor on the whole project; give it an account of its "
                                   "own that holds only its secrets", "cloudrun-service-account", workload.where)


# Cloud Run sets these itself and refuses a revision that sets them.
RESERVED_VARIABLES = ("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION")


def reserved_findings(container: Document, workload: Workload) -> Iterator[Finding]:
    for item in container.get("env") or []:
        name = str((item or {}).get("name", ""))
        if name in RESERVED_VARIABLES:
            yield Finding(None, ERROR, f"{name} is set by Cloud Run, which refuses a revision that sets it (the port "
                                       "is the container's containerPort)", "cloudrun-reserved", workload.where)


# --- the IAM bindings ---------------------------------------------------------------------------------

def parse_bindings(document: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """(resource, bindings) pairs from the file `render cloudrun` writes: a list of {resource, policy}
    where each policy is what `gcloud ... get-iam-policy` prints."""
    items = document if isinstance(document, list) else [document]
    pairs = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("resource"), str) \
                or not isinstance(item.get("policy"), dict):
            raise ConfigError(f"IAM bindings: item {index + 1} must be a mapping of resource (projects/P/secrets/NAME) "
                              "and policy (as gcloud ... get-iam-policy prints it)")
        bindings = item["policy"].get("bindings") or []
        if not isinstance(bindings, list) or not all(isinstance(binding, dict) for binding in bindings):
            raise ConfigError(f"IAM bindings: the policy of {item['resource']} must have a list of bindings")
        pairs.append((item["resource"], bindings))
    return pairs


def binding_findings(pairs: Sequence[tuple[str, list[dict[str, Any]]]], service: Document) -> list[Finding]:
    account = f"serviceAccount:{pod_spec(service).get('serviceAccountName', '')}"
    wanted = set(secret_names(service))
    covered: set[str] = set()
    found = []
    for resource, bindings in pairs:
        secret = resource.split("/secrets/", 1)[1].split("/")[0] if "/secrets/" in resource else None
        for binding in bindings:
            found += _binding_problems(resource, secret, binding, account)
            if secret is not None and binding.get("role") == SECRET_ACCESSOR and account in (binding.get("members") or []):
                covered.add(secret)
        if secret is not None and secret not in wanted:
            found.append(Finding(None, WARNING, f"{resource}: a secret the service does not read", "cloudrun-iam", IAM))
    for secret in sorted(wanted - covered):
        found.append(Finding(None, ERROR, f"secret {secret}: the bindings do not grant {SECRET_ACCESSOR} on it to "
                                          f"{account}, so the revision cannot start", "cloudrun-iam", IAM))
    return found


def _binding_problems(resource: str, secret: str | None, binding: Document, account: str) -> list[Finding]:
    """One binding's own excess: a public member, a secrets role beyond one secret, more than reading it."""
    role, members = str(binding.get("role", "")), [str(member) for member in binding.get("members") or []]
    found = []
    public = [member for member in members if member in PUBLIC_MEMBERS]
    if public:
        anyone = "on the internet" if "allUsers" in public else "with a Google account"
        found.append(Finding(None, ERROR, f"{resource}: {role} is granted to {', '.join(public)}: anyone {anyone} holds "
                                          "it", "cloudrun-public", IAM))
    if (secret is None and role.startswith("roles/secretmanager.")) or role in ("roles/owner", "roles/editor"):
        found.append(Finding(None, ERROR, f"{resource}: {role} is granted beyond one secret (on the project or a folder "
                                          "it reaches every secret); grant it on each secret", "cloudrun-iam", IAM))
    if secret is not None and role.startswith("roles/secretmanager.") and role != SECRET_ACCESSOR and account in members:
        found.append(Finding(None, ERROR, f"{resource}: the service's account holds {role}; it needs {SECRET_ACCESSOR} "
                                          "only", "cloudrun-iam", IAM))
    return found
