"""`verify compose FILE...`: normalise the files with `docker compose config`, check the result against
the compose specification's JSON Schema, load the DeepTempo service (and the database beside it) as
Workloads, then the shared rules and Compose's own (a restart policy, the database's wiring)."""

import os
from collections.abc import Iterator, Sequence
from typing import Any

from deeptempo_deploy.platforms.compose.database import database_findings
from deeptempo_deploy.platforms.compose.load import database_services, load, service_name
from deeptempo_deploy.platforms.compose.normalise import ComposeConfig
from deeptempo_deploy.platforms.judging import judge_workloads
from deeptempo_deploy.platforms.model import DATABASE, Workload
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding, Where
from deeptempo_entrypoint.schema_errors import describe_schema_error, field_path
from deeptempo_entrypoint.spec.model import Spec


def verify_compose(files: Sequence[str | os.PathLike[str]], spec: Spec, service: str | None = None,
                   project_directory: str | None = None,
                   stdin_text: str | None = None) -> tuple[list[Finding], dict[str, str]]:
    """(findings, sources): sources maps each secret that reaches the service to how it arrives."""
    config = ComposeConfig(files, project_directory, stdin_text)
    return judge(config.interpolated, config.raw, spec, service)


def judge(interpolated: dict[str, Any], raw: dict[str, Any], spec: Spec,
          service: str | None = None) -> tuple[list[Finding], dict[str, str]]:
    """The verdict on normalised documents: schema, then the service's workload under every rule."""
    findings = schema_findings(interpolated)
    name = service_name(interpolated, service)
    if name is None:
        return findings + [Finding(None, ERROR, "no service runs the DeepTempo image (name one with --service)", "service",
                                   Where(object="compose"))], {}
    workload, loaded = load(interpolated, raw, spec, name)
    workloads = {name: workload, **{other: load(interpolated, raw, spec, other, DATABASE)[0]
                                    for other in database_services(interpolated, raw, name)}}
    findings += loaded + judge_workloads(workloads.values(), spec)
    for service_of, each in workloads.items():
        findings += restart_findings(each, interpolated["services"][service_of])
    findings += database_findings(interpolated, name, workloads)
    return findings, workload.secret_routes


def schema_findings(document: dict[str, Any]) -> list[Finding]:
    """The compose specification's JSON Schema (vendored by check-jsonschema, which the deploy extra
    installs), applied to the normalised document."""
    import jsonschema
    from check_jsonschema.builtin_schemas import get_builtin_schema

    schema = get_builtin_schema("vendor.compose-spec")
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [Finding(None, ERROR, describe_schema_error(error), "compose-schema", Where(object=field_path(error.absolute_path)))
            for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]


def restart_findings(workload: Workload, service: dict[str, Any]) -> Iterator[Finding]:
    if not service.get("restart") or service["restart"] == "no":
        yield Finding(None, WARNING, "no restart policy; unless-stopped brings it back", "restart", workload.where)
