"""`verify k8s DIR|FILE|-`: render with `kubectl kustomize` (or read rendered YAML), validate every
object with kubernetes-validate in strict mode for each supported version (custom resources such as
ExternalSecret against a structural schema of their own), load the pod templates as Workloads, then the
shared rules and Kubernetes' own: Pod Security `restricted`, requests and ephemeral storage, Secret keys."""

import difflib
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

from deeptempo_deploy.platforms.judging import judge_workloads
from deeptempo_deploy.platforms.k8s import SUPPORTED_VERSIONS
from deeptempo_deploy.platforms.k8s.database import database_findings
from deeptempo_deploy.platforms.k8s.load import WORKLOADS, Document, PodTemplate, load, pod_templates
from deeptempo_deploy.platforms.k8s.manifests import (
    example_stand_ins,
    kustomize,
    missing_generator_env_files,
    parse_documents,
    rendered_copy,
)
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding, Where
from deeptempo_entrypoint.schema_errors import describe_schema_error, field_path
from deeptempo_entrypoint.spec.model import Spec
from deeptempo_entrypoint.textfile import read_text

# Pod Security "restricted": the volume types it allows.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
                      "secret"}
CUSTOM_SCHEMAS = os.path.join(os.path.dirname(__file__), "custom_resources.json")


def load_documents(target: str, stdin_text: str | None = None) -> tuple[list[Document], list[Finding], bool]:
    """(documents, findings, stand-in): a kustomization directory rendered, a YAML file read, or `-`
    (stdin). An overlay whose secretGenerator env-file is absent here (gitignored) is rendered from a
    copy that uses the committed `.example` instead, with a warning; its values are then not judged."""
    if target == "-":
        return parse_documents(stdin_text or "", "standard input"), [], False
    if os.path.isfile(target):
        from deeptempo_entrypoint.errors import ConfigError

        return parse_documents(read_text(target, error=ConfigError, what="manifest"), target), [], False
    missing = missing_generator_env_files(target)
    if not missing:
        return kustomize(target), [], False
    stand_ins, without = example_stand_ins(missing)
    findings = [Finding(None, WARNING, f"absent here (it is gitignored); rendered with "
                                       f"{'an empty file' if path in without else 'its .example'}",
                        "generator-env-file", Where(file=path)) for path in missing]
    with rendered_copy(target, stand_ins) as copy:
        return kustomize(copy), findings, True


def verify_k8s(target: str, spec: Spec, versions: Sequence[str] = SUPPORTED_VERSIONS,
               stdin_text: str | None = None) -> tuple[list[Finding], dict[str, str]]:
    documents, findings, stand_in = load_documents(target, stdin_text)
    return judge(documents, spec, versions, findings, carried=not stand_in)


def judge(documents: list[Document], spec: Spec, versions: Sequence[str] = SUPPORTED_VERSIONS,
          findings: Sequence[Finding] = (), *, carried: bool = True) -> tuple[list[Finding], dict[str, str]]:
    """The verdict on rendered documents: schemas, then the workloads under every rule."""
    found = list(findings)
    if not any(document.get("kind") in WORKLOADS for document in documents):
        found.append(Finding(None, ERROR, "no Deployment or other workload in the manifests", "workload"))
    invalid = schema_findings(documents, versions)
    found += invalid
    # The rules read only objects their schema accepts (types are then what the rules expect).
    invalid_objects = {finding.where.object for finding in invalid if finding.is_error and finding.where}
    documents = [d for d in documents if _what(d) not in invalid_objects]
    workloads, loaded = load(documents, spec, carried=carried)
    found += loaded + judge_workloads(workloads, spec)
    found += database_findings(documents, [t for t in pod_templates(documents) if t.container is not None], workloads)
    for template in pod_templates(documents):
        if template.container is None:
            found.append(Finding(None, ERROR, "no container runs the DeepTempo image", "containers", template.where))
        found += restricted_findings(template)
        found += ephemeral_storage_findings(template)
    found += generator_key_findings(SpecView(spec), documents)
    sources = {name: how for workload in workloads for name, how in workload.secret_routes.items()}
    return found, sources


# --- schemas ---------------------------------------------------------------------------------------

def _load_schemas_once() -> None:
    """kubernetes-validate reads a version's `_definitions.json` (the bulk of its schemas) again at every
    validate() call: one verify of six objects over eight versions read it 48 times, most of its time.
    Each file is read once per process here; the schemas are only read by the validator, never changed."""
    import functools

    import kubernetes_validate.utils as utils

    if not hasattr(utils.schema_contents, "cache_info"):
        utils.schema_contents = functools.lru_cache(maxsize=256)(utils.schema_contents)


def schema_findings(documents: Sequence[Document], versions: Sequence[str]) -> list[Finding]:
    import kubernetes_validate

    _load_schemas_once()
    findings: list[Finding] = []
    custom = None
    for document in documents:
        what = _what(document)
        failed: dict[str, list[str]] = {}
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
            findings.append(Finding(None, ERROR, f"{problem} (Kubernetes {_versions(bad_versions)})", "schema",
                                    Where(object=what)))
    return findings


def _what(document: Document) -> str:
    metadata = document.get("metadata")
    return f"{document.get('kind', '?')} {metadata.get('name', '?') if isinstance(metadata, dict) else '?'}"


def _versions(versions: Sequence[str]) -> str:
    return versions[0] if len(versions) == 1 else f"{versions[0]} to {versions[-1]}"


def _custom_schemas() -> dict[str, Any]:
    with open(CUSTOM_SCHEMAS, encoding="utf-8") as stream:
        schemas: dict[str, Any] = json.load(stream)
    return schemas


def _custom_resource_findings(document: Document, what: str, schemas: dict[str, Any]) -> list[Finding]:
    import jsonschema

    key = f"{document.get('apiVersion')}/{document.get('kind')}"
    schema = schemas.get(key)
    if schema is None:
        return [Finding(None, WARNING, f"{key} has no schema here; not checked", "custom-resource", Where(object=what))]
    validator = jsonschema.Draft202012Validator(schema)
    return [Finding(None, ERROR, f"{field_path(error.absolute_path)}: {describe_schema_error(error)}", "schema",
                    Where(object=what))
            for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]


# --- Kubernetes' own rules ------------------------------------------------------------------------------

def restricted_findings(template: PodTemplate) -> list[Finding]:
    """Pod Security "restricted" where the shared rules do not already judge it: volume types, every
    container's runAsNonRoot and seccomp profile, and the other containers' privileges."""
    where = Where(object=f"{template.kind} {template.name}")
    findings = [Finding(None, ERROR, message, "restricted", where) for message in _volume_problems(template.pod_spec)]
    pod_context = template.pod_spec.get("securityContext") or {}
    for container in [*(template.pod_spec.get("initContainers") or []), *(template.pod_spec.get("containers") or [])]:
        problems = list(_container_problems(container, pod_context))
        if container is not template.container:
            problems += _privilege_problems(container, pod_context)
        at = where._replace(container=container.get("name"))
        findings += [Finding(None, ERROR, message, "restricted", at) for message in problems]
    return findings


def _volume_problems(pod_spec: Document) -> Iterator[str]:
    for volume in pod_spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            yield f"volume {volume.get('name')} is of a type restricted does not allow ({', '.join(sorted(kinds))})"


def _container_problems(container: Document, pod_context: Document) -> Iterator[str]:
    context = container.get("securityContext") or {}
    if not (context.get("runAsNonRoot") is True or (pod_context.get("runAsNonRoot") is True
                                                     and context.get("runAsNonRoot") is not False)):
        yield "runAsNonRoot must be true (pod or container securityContext)"
    seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        yield "seccompProfile.type must be RuntimeDefault (pod or container)"


def _privilege_problems(container: Document, pod_context: Document) -> Iterator[str]:
    """What the shared rules judge for the service's container, for every other container."""
    context = container.get("securityContext") or {}
    capabilities = context.get("capabilities") or {}
    if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
        yield "runAsUser must not be 0"
    if context.get("privileged"):
        yield "privileged is true"
    if context.get("allowPrivilegeEscalation") is not False:
        yield "securityContext.allowPrivilegeEscalation must be false"
    if "ALL" not in (capabilities.get("drop") or []):
        yield "securityContext.capabilities.drop must include ALL"
    if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
        yield "securityContext.capabilities.add may only hold NET_BIND_SERVICE"
    if context.get("readOnlyRootFilesystem") is not True:
        yield "securityContext.readOnlyRootFilesystem must be true"


def ephemeral_storage_findings(template: PodTemplate) -> list[Finding]:
    limits = ((template.container or {}).get("resources") or {}).get("limits") or {}
    if template.container is None or not limits or limits.get("ephemeral-storage"):
        return []
    return [Finding(None, WARNING, "no ephemeral-storage limit", "resources", template.where)]


def generator_key_findings(view: SpecView, documents: Sequence[Document]) -> list[Finding]:
    """Keys of the Secrets in the manifests (a secretGenerator's env-file) that the spec does not know."""
    findings = []
    names = [entry.name for entry in view.spec]
    for document in documents:
        if document.get("kind") != "Secret":
            continue
        for key in [*(document.get("data") or {}), *(document.get("stringData") or {})]:
            if view.entry_for_key(key) is not None:
                continue
            where = Where(object=f"Secret {document['metadata']['name']}")
            shown = view.judged_name(key, "a key")
            if shown != key:  # a generator line without NAME= became a key: describe it, never quote it
                findings.append(Finding(None, ERROR, f"{shown}: a line of its env-file is not NAME=value; write it as "
                                                     "NAME=value", "secret-keys", where))
                continue
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.8)
            hint = f"; did you mean {close[0]}?" if close else ""
            findings.append(Finding(key, ERROR, f"key {key} is not a name the spec knows{hint}", "secret-keys", where))
    return findings
