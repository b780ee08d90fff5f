"""`verify k8s DIR|FILE|-`: render with `kubectl kustomize` (or read rendered YAML), validate every
object with kubernetes-validate in strict mode for each supported version (custom resources such as
ExternalSecret against a structural schema of their own), then the kit's rules on every pod template.
Findings name the rule in brackets and never a value."""

import json
import os

from entrypoint.constants import DEFAULT_PORT, HEALTH_PATH, SECRETS_DIR_VARIABLE
from entrypoint.findings import ERROR, WARNING, Finding
from entrypoint.platforms.k8s import SUPPORTED_VERSIONS
from entrypoint.platforms.k8s.manifests import (
    WORKLOADS,
    container_port,
    kustomize,
    main_container,
    missing_generator_env_files,
    parse_documents,
    pod_templates,
    rendered_copy,
    secrets_by_name,
)
from entrypoint.platforms.rules import literal_secret_finding, reachability_findings, writable_state_findings
from entrypoint.platforms.spec_view import SpecView
from entrypoint.schema_errors import describe_schema_error, field_path

# Pod Security "restricted": the volume types it allows.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
                      "secret"}
CUSTOM_SCHEMAS = os.path.join(os.path.dirname(__file__), "custom_resources.json")


def load_documents(target, stdin_text=None):
    """(documents, findings): a kustomization directory rendered, a YAML file read, or `-` (stdin). An
    overlay whose secretGenerator env-file is absent here (gitignored) is rendered from a copy that uses
    the committed `.example` instead, with a warning."""
    if target == "-":
        return parse_documents(stdin_text or "", "standard input"), []
    if os.path.isfile(target):
        with open(target, encoding="utf-8") as stream:
            return parse_documents(stream.read(), target), []
    missing = missing_generator_env_files(target)
    if not missing:
        return kustomize(target), []
    stand_ins, findings = {}, []
    for path in missing:
        example = path + ".example"
        stand_ins[path] = open(example, encoding="utf-8").read() if os.path.exists(example) else ""
        findings.append(Finding(None, WARNING, f"[generator-env-file] {path} is absent here (it is gitignored); "
                                               f"rendered with {'its .example' if os.path.exists(example) else 'an empty file'}"))
    with rendered_copy(target, stand_ins) as copy:
        return kustomize(copy), findings


def verify_k8s(target, spec, versions=SUPPORTED_VERSIONS, stdin_text=None):
    documents, findings = load_documents(target, stdin_text)
    if not any(document.get("kind") in WORKLOADS for document in documents):
        findings.append(Finding(None, ERROR, "[workload] no Deployment or other workload in the manifests"))
    invalid = schema_findings(documents, versions)
    findings += invalid
    # The kit's rules read only objects their schema accepts (types are then what the rules expect).
    invalid_objects = {finding.message.split(":", 1)[0] for finding in invalid if finding.is_error}
    documents = [d for d in documents if f"[schema] {_what(d)}" not in invalid_objects]
    view = SpecView(spec)
    secrets = secrets_by_name(documents)
    sources = {}
    for document, pod_spec, _ in pod_templates(documents):
        where = f"{document['kind']} {document.get('metadata', {}).get('name', '?')}"
        findings += restricted_findings(pod_spec, where)
        container = main_container(pod_spec)
        if container is None:
            findings.append(Finding(None, ERROR, f"[containers] {where}: no container"))
            continue
        findings += probe_findings(container, where)
        findings += resource_findings(container, where)
        read_only = (container.get("securityContext") or {}).get("readOnlyRootFilesystem") is True
        findings += writable_state_findings(read_only, [m.get("mountPath", "") for m in container.get("volumeMounts") or []],
                                            where)
        reachable, secret_findings = reachable_secrets(view, pod_spec, container, secrets, where)
        findings += secret_findings + reachability_findings(spec, reachable, where)
        sources.update(reachable)
    findings += generator_key_findings(view, documents)
    return findings, sources


# --- schemas ---------------------------------------------------------------------------------------

def schema_findings(documents, versions):
    import kubernetes_validate

    findings = []
    custom = None
    for document in documents:
        what = _what(document)
        failed = {}
        for version in versions:
            try:
                kubernetes_validate.validate(document, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                custom = custom if custom is not None else _custom_schemas()
                findings += _custom_resource_findings(document, what, custom)
                break
            except kubernetes_validate.ValidationError as error:
                failed.setdefault(f"{field_path(error.path)}: {describe_schema_error(error)}", []).append(version)
        for problem, bad_versions in failed.items():
            findings.append(Finding(None, ERROR, f"[schema] {what}: {problem} (Kubernetes {_versions(bad_versions)})"))
    return findings


def _what(document):
    metadata = document.get("metadata")
    return f"{document.get('kind', '?')} {metadata.get('name', '?') if isinstance(metadata, dict) else '?'}"


def _versions(versions):
    return versions[0] if len(versions) == 1 else f"{versions[0]} to {versions[-1]}"


def _custom_schemas():
    with open(CUSTOM_SCHEMAS, encoding="utf-8") as stream:
        return json.load(stream)


def _custom_resource_findings(document, what, schemas):
    import jsonschema

    key = f"{document.get('apiVersion')}/{document.get('kind')}"
    schema = schemas.get(key)
    if schema is None:
        return [Finding(None, WARNING, f"[custom-resource] {what}: {key} has no schema here; not checked")]
    validator = jsonschema.Draft202012Validator(schema)
    return [Finding(None, ERROR, f"[schema] {what}: {field_path(error.absolute_path)}: {describe_schema_error(error)}")
            for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]


# --- the kit's rules ---------------------------------------------------------------------------------

def restricted_findings(pod_spec, where):
    """Pod Security "restricted", plus a read-only root filesystem."""
    findings = []
    pod_context = pod_spec.get("securityContext") or {}

    def fail(rule, message):
        findings.append(Finding(None, ERROR, f"[{rule}] {where}: {message}"))

    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(flag):
            fail("restricted", f"{flag} is true")
    for volume in pod_spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            fail("restricted", f"volume {volume.get('name')} is of a type restricted does not allow ({', '.join(sorted(kinds))})")
    for container in [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]:
        context = container.get("securityContext") or {}
        name = f"container {container.get('name')}"
        if context.get("privileged"):
            fail("restricted", f"{name}: privileged is true")
        if context.get("allowPrivilegeEscalation") is not False:
            fail("restricted", f"{name}: securityContext.allowPrivilegeEscalation must be false")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            fail("restricted", f"{name}: securityContext.capabilities.drop must include ALL")
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            fail("restricted", f"{name}: securityContext.capabilities.add may only hold NET_BIND_SERVICE")
        if not (context.get("runAsNonRoot") is True or (pod_context.get("runAsNonRoot") is True
                                                         and context.get("runAsNonRoot") is not False)):
            fail("restricted", f"{name}: runAsNonRoot must be true (pod or container securityContext)")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            fail("restricted", f"{name}: runAsUser must not be 0")
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            fail("restricted", f"{name}: seccompProfile.type must be RuntimeDefault (pod or container)")
        if context.get("readOnlyRootFilesystem") is not True:
            fail("read-only-root", f"{name}: securityContext.readOnlyRootFilesystem must be true")
    return findings


def probe_findings(container, where):
    findings = []
    for probe_name in ("readinessProbe", "livenessProbe"):
        probe = container.get(probe_name)
        http = (probe or {}).get("httpGet") or {}
        if not probe:
            findings.append(Finding(None, ERROR, f"[probes] {where}: container {container.get('name')} has no {probe_name}"))
        elif http.get("path") != HEALTH_PATH or container_port(container, http.get("port")) != DEFAULT_PORT:
            findings.append(Finding(None, ERROR, f"[probes] {where}: {probe_name} must be an httpGet of {HEALTH_PATH} on "
                                                 f"port {DEFAULT_PORT}"))
    return findings


def resource_findings(container, where):
    resources = container.get("resources") or {}
    missing = [f"{kind}.{resource}" for kind in ("requests", "limits") for resource in ("cpu", "memory")
               if not (resources.get(kind) or {}).get(resource)]
    if missing:
        return [Finding(None, ERROR, f"[resources] {where}: container {container.get('name')} sets no "
                                     f"{', '.join(missing)}")]
    if not (resources.get("limits") or {}).get("ephemeral-storage"):
        return [Finding(None, WARNING, f"[resources] {where}: no ephemeral-storage limit")]
    return []


def reachable_secrets(view, pod_spec, container, secrets, where):
    """How each spec secret reaches the main container: envFrom, secretKeyRef, or a mounted Secret the
    serve path reads as its secrets directory."""
    reachable, findings = {}, []

    def keys_of(name, how):
        if name in secrets:
            return secrets[name]
        findings.append(Finding(None, WARNING, f"[secret-reachable] {where}: Secret {name} ({how}) is created outside "
                                               "these manifests, so its keys are not checked; every secret is taken "
                                               "to be in it"))
        return [entry.name for entry in view.secrets]

    for source in container.get("envFrom") or []:
        ref = source.get("secretRef")
        if ref:
            for key in keys_of(ref.get("name"), "envFrom"):
                entry = view.entry_for_key(key)
                if entry:
                    reachable.setdefault(entry.name, f"envFrom Secret {ref.get('name')}")
    for variable in container.get("env") or []:
        name = variable.get("name", "")
        entry = view.entry_for_key(name) or view.entry_for_file_variable(name)
        if "value" in variable and view.is_secret_key(name) and variable.get("value"):
            findings.append(literal_secret_finding(name, f"{where}: env"))
        ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
        if ref and entry:
            reachable.setdefault(entry.name, f"secretKeyRef {ref.get('name')}/{ref.get('key')}")
    secrets_dir = next((v.get("value") for v in container.get("env") or [] if v.get("name") == SECRETS_DIR_VARIABLE),
                       "/run/secrets")
    volumes = {volume.get("name"): volume for volume in pod_spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        secret = (volumes.get(mount.get("name")) or {}).get("secret")
        if secret and mount.get("mountPath", "").rstrip("/") == secrets_dir.rstrip("/"):
            items = secret.get("items")
            keys = [item.get("path") for item in items] if items else keys_of(secret.get("secretName"), "volume")
            for key in keys:
                entry = view.entry_for_key(os.path.basename(key or ""))
                if entry:
                    reachable.setdefault(entry.name, f"files of Secret {secret.get('secretName')}")
    return reachable, findings


def generator_key_findings(view, documents):
    """Keys of the Secrets in the manifests (a secretGenerator's env-file) that the spec does not know."""
    import difflib

    findings = []
    names = [entry.name for entry in view.spec]
    for document in documents:
        if document.get("kind") != "Secret":
            continue
        for key in [*(document.get("data") or {}), *(document.get("stringData") or {})]:
            if view.entry_for_key(key) is None:
                close = difflib.get_close_matches(key, names, n=1, cutoff=0.8)
                hint = f"; did you mean {close[0]}?" if close else ""
                findings.append(Finding(key, ERROR, f"[secret-keys] Secret {document['metadata']['name']}: key {key} is "
                                                    f"not a name the spec knows{hint}"))
    return findings
