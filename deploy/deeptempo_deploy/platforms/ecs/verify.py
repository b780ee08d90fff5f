"""`verify ecs TASKDEF [--policy POLICY]`: the task definition against the ECS model's
RegisterTaskDefinition input (offline), then what botocore does not check (enum values, the Fargate
task sizes, awslogs options, healthCheck ranges, valueFrom syntax, roles), the shared rules over its
DeepTempo container, and with --policy a policy that covers every valueFrom and nothing more."""

import fnmatch
import json
from collections.abc import Iterator, Sequence
from typing import Any

from deeptempo_deploy.platforms.ecs import FARGATE_SIZES
from deeptempo_deploy.platforms.ecs.arns import KMS_KEY, SecretRef, parse_value_from
from deeptempo_deploy.platforms.ecs.load import Document, load, main_container
from deeptempo_deploy.platforms.model import Workload
from deeptempo_deploy.platforms.rules import shared_findings
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding, Where
from deeptempo_entrypoint.spec.model import Spec
from deeptempo_entrypoint.textfile import read_text

FARGATE_LOG_DRIVERS = ("awslogs", "splunk", "awsfirelens")
AWSLOGS_REQUIRED = ("awslogs-group", "awslogs-region", "awslogs-stream-prefix")
HEALTH_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}
SECRET_READS = ("secretsmanager:GetSecretValue", "ssm:GetParameters")
TASK = Where(object="task definition")
POLICY = Where(object="policy")


def load_json(path: str, text: str | None = None, what: str = "task definition") -> Any:
    if text is None:
        text = read_text(path, error=ConfigError, what=what)  # refuses FIFOs and huge files, names the file
    from deeptempo_deploy import jsontext

    try:
        return jsontext.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what} {path}: not valid JSON at line {exc.lineno}, column {exc.colno}") from None
    except jsontext.JsonRefused as exc:
        raise ConfigError(f"{what} {path}: {exc}; not judged") from None


def verify_ecs(task_definition: dict[str, Any], spec: Spec,
               policy: dict[str, Any] | None = None) -> tuple[list[Finding], dict[str, str]]:
    findings = model_findings(task_definition)
    if any(f.is_error for f in findings):
        return findings, {}  # the rules below need the shapes botocore checks
    findings += enum_findings(task_definition) + fargate_findings(task_definition)
    container = main_container(task_definition)
    if container is None:
        return findings + [Finding(None, ERROR, "no container runs the DeepTempo image", "containers", TASK)], {}
    workload = load(task_definition, container, spec)
    findings += shared_findings([workload], spec)
    findings += log_findings(workload, container, task_definition)
    findings += list(health_timing_findings(workload, container))
    findings += list(container_findings(workload, container))
    findings += list(value_from_findings(workload, SpecView(spec), container))
    findings += list(rotation_findings(workload, container))
    if policy is not None:
        findings += policy_findings(policy, task_definition["containerDefinitions"])
    return findings, workload.secret_routes


def model_findings(task_definition: dict[str, Any]) -> list[Finding]:
    """botocore's ParamValidator on the ECS model: types, required members, unknown keys."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(task_definition, shape)
    findings = []
    # The report's own text quotes the offending values; its error records name the parameter and kind.
    for kind, name, details in getattr(report, "_errors", []):
        types = ", ".join(getattr(t, "__name__", str(t)) for t in details.get("valid_types", []))
        words = {"missing required field": f"is missing {details.get('required_name')}",
                 "unknown field": f"has an unknown field {details.get('unknown_param')}",
                 "invalid type": f"must be of type {types}",
                 "invalid range": "is out of range", "invalid length": "has an invalid length"}.get(kind, kind)
        findings.append(Finding(None, ERROR, f"{name}: {words}", "ecs-model", TASK))
    if report.has_errors() and not findings:
        findings.append(Finding(None, ERROR, "the task definition does not fit RegisterTaskDefinition", "ecs-model", TASK))
    return findings


def enum_findings(task_definition: dict[str, Any]) -> list[Finding]:
    """Enum values, from the same model (ParamValidator does not check them)."""
    import botocore.session

    shape = botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape
    return [Finding(None, ERROR, f"{path}: must be one of {', '.join(enum)}", "ecs-enum", TASK)
            for path, enum in _bad_enums(task_definition, shape, "")]


def _bad_enums(value: Any, shape: Any, path: str) -> Iterator[tuple[str, list[str]]]:
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, member in shape.members.items():
            if key in value:
                yield from _bad_enums(value[key], member, f"{path}.{key}" if path else key)
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _bad_enums(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from _bad_enums(item, shape.value, f"{path}.{key}")
    elif shape.type_name == "string" and getattr(shape, "enum", None) and value not in shape.enum:
        yield path, list(shape.enum)


def fargate_findings(task_definition: Document) -> list[Finding]:
    if "FARGATE" not in (task_definition.get("requiresCompatibilities") or []):
        return [Finding(None, WARNING, "requiresCompatibilities does not name FARGATE; Fargate rules not applied", "fargate",
                        TASK)]
    problems = []
    if task_definition.get("networkMode") != "awsvpc":
        problems.append(("fargate", "networkMode must be awsvpc on Fargate"))
    cpu, memory = str(task_definition.get("cpu", "")), str(task_definition.get("memory", ""))
    if cpu not in FARGATE_SIZES or not memory.isdigit() or int(memory) not in FARGATE_SIZES[cpu]:
        problems.append(("fargate", f"cpu {cpu or '(unset)'} with memory {memory or '(unset)'} is not a Fargate task size "
                                    "(256: 512-2048; 512: 1024-4096; 1024: 2048-8192; ...)"))
    execution, task = task_definition.get("executionRoleArn"), task_definition.get("taskRoleArn")
    if execution and execution == task:
        problems.append(("roles", "executionRoleArn and taskRoleArn must be distinct roles"))
    if not execution:
        problems.append(("roles", "executionRoleArn is missing (Fargate reads secrets and logs with it)"))
    return [Finding(None, ERROR, message, rule, TASK) for rule, message in problems]


def log_findings(workload: Workload, container: Document, task_definition: Document) -> list[Finding]:
    config = container.get("logConfiguration") or {}
    driver = config.get("logDriver")
    if not driver:
        return [Finding(None, ERROR, "no logConfiguration", "logging", workload.where)]
    findings = []
    if "FARGATE" in (task_definition.get("requiresCompatibilities") or []) and driver not in FARGATE_LOG_DRIVERS:
        findings.append(Finding(None, ERROR, f"logDriver {driver} is not available on Fargate "
                                             f"({', '.join(FARGATE_LOG_DRIVERS)})", "logging", workload.where))
    if driver == "awslogs":
        missing = [option for option in AWSLOGS_REQUIRED if not (config.get("options") or {}).get(option)]
        if missing:
            findings.append(Finding(None, ERROR, f"awslogs needs {', '.join(missing)}", "logging", workload.where))
    return findings


def health_timing_findings(workload: Workload, container: Document) -> Iterator[Finding]:
    """ECS's own limits on a healthCheck (the shared rule judges what it probes)."""
    check = container.get("healthCheck")
    if not check:
        return
    command = check.get("command") or []
    if not command or command[0] not in ("CMD", "CMD-SHELL"):
        yield Finding(None, ERROR, "command must start with CMD or CMD-SHELL", "healthcheck", workload.where)
    for field, (low, high) in HEALTH_RANGES.items():
        if field in check and not (isinstance(check[field], int) and low <= check[field] <= high):
            yield Finding(None, ERROR, f"{field} must be from {low} to {high}", "healthcheck", workload.where)


def container_findings(workload: Workload, container: Document) -> Iterator[Finding]:
    if container.get("essential", True) is not True:
        yield Finding(None, ERROR, "the service container must be essential", "essential", workload.where)
    if not container.get("stopTimeout"):
        yield Finding(None, WARNING, "no stopTimeout (30 s is the Fargate default)", "stop-timeout", workload.where)


def value_from_findings(workload: Workload, view: SpecView, container: Document) -> Iterator[Finding]:
    for item in container.get("secrets") or []:
        name, value_from = item.get("name", ""), item.get("valueFrom", "")
        if parse_value_from(value_from) is None:
            yield Finding(name, ERROR, f"the valueFrom of {name} is neither a Secrets Manager ARN (arn:aws:secretsmanager:"
                                       "REGION:ACCOUNT:secret:NAME[:json-key:version-stage:version-id]) nor an SSM "
                                       "parameter ARN or name", "value-from", workload.where)
        if name and view.entry_for_key(name) is None:
            yield Finding(name, WARNING, f"secret {name} is not a name the spec knows", "secret-keys", workload.where)


# Secrets Manager rotates a secret through a rotation function that reads and writes a JSON credential
# ({"username", "password", ...}: RDS's shape, and every rotation template's); RDS's own managed secrets
# are named rds!... and rotated every seven days by default.
ROTATED_KEYS = ("password",)


def rotation_findings(workload: Workload, container: Document) -> Iterator[Finding]:
    """A secret Secrets Manager rotates reaches a task only when it starts: after a rotation the running
    tasks keep the old value until a new deployment replaces them (a warning, with that deployment)."""
    rotated = []
    for item in container.get("secrets") or []:
        ref = parse_value_from(item.get("valueFrom", ""))
        if ref and ref.service == "secretsmanager" and (ref.json_key in ROTATED_KEYS or ":secret:rds!" in ref.resource):
            rotated.append(item.get("name", ""))
    if rotated:
        yield Finding(None, WARNING, f"{', '.join(rotated)} come{'s' if len(rotated) == 1 else ''} from a Secrets Manager "
                                     "credential secret, which a rotation changes; ECS reads it only when a task starts, "
                                     "so running tasks keep the old value: after each rotation, start new tasks "
                                     "(aws ecs update-service --cluster CLUSTER --service SERVICE --force-new-deployment; "
                                     "an EventBridge rule on the secret's RotationSucceeded event can run it)",
                      "rotation", workload.where)


# --- the execution role's policy ---------------------------------------------------------------------

def policy_findings(policy: Document, containers: Sequence[Document]) -> list[Finding]:
    """The execution role's policy must cover every valueFrom and grant nothing more."""
    refs = [ref for container in containers for item in container.get("secrets") or []
            if (ref := parse_value_from(item.get("valueFrom", ""))) is not None]
    statements = policy.get("Statement") or []
    statements = [statements] if isinstance(statements, dict) else statements
    findings: list[Finding] = []
    grants: dict[str, list[str]] = {action: [] for action in SECRET_READS}
    for index, statement in enumerate(statements):
        if statement.get("Effect") == "Allow":
            findings += _statement_findings(index, statement, grants)
    for action in SECRET_READS:
        wanted = [ref for ref in refs if action.startswith(ref.service + ":")]
        findings += _coverage_findings(action, grants[action], wanted)
    return findings


def _listed(value: object) -> list[str]:
    """IAM's "one or a list"."""
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value] if isinstance(value, list) else []


def _statement_findings(index: int, statement: Document, grants: dict[str, list[str]]) -> list[Finding]:
    """A statement's own excess, and what it grants of the secret reads (added to `grants`)."""
    actions, resources = _listed(statement.get("Action")), _listed(statement.get("Resource"))
    where = Where(object=f"policy Statement[{index}] ({statement.get('Sid', 'no Sid')})")
    findings = []
    if any(action == "*" or action.endswith(":*") for action in actions):
        findings.append(Finding(None, ERROR, "grants every action of a service; name the actions", "least-privilege", where))
    if "*" in resources and set(actions) != {"ecr:GetAuthorizationToken"}:
        findings.append(Finding(None, ERROR, "Resource \"*\"; name the resources (only ecr:GetAuthorizationToken needs "
                                             "\"*\")", "least-privilege", where))
    for granted in grants:
        if any(fnmatch.fnmatchcase(granted, action) for action in actions):
            grants[granted] += resources
    if "kms:Decrypt" in actions:
        findings += [Finding(None, ERROR, "kms:Decrypt on a resource that is no KMS key ARN", "least-privilege", where)
                     for resource in resources if resource != "*" and not KMS_KEY.fullmatch(resource)]
    return findings


def _coverage_findings(action: str, resources: list[str], wanted: list[SecretRef]) -> list[Finding]:
    findings = [Finding(None, ERROR, f"{action} does not cover {ref.resource}", "least-privilege", POLICY)
                for ref in wanted if not any(_covers(resource, ref.resource) for resource in resources)]
    findings += [Finding(None, ERROR, f"{action} on {resource}, which no valueFrom of the task reads", "least-privilege",
                         POLICY)
                 for resource in resources if resource != "*" and not any(_covers(resource, ref.resource) for ref in wanted)]
    return findings


def _covers(pattern: str, resource: str) -> bool:
    """An IAM resource pattern covers a (partial) secret ARN: exactly, or with Secrets Manager's
    six-character suffix (NAME-??????), or by its own wildcards."""
    return any(fnmatch.fnmatchcase(candidate, pattern) for candidate in (resource, resource + "-AbCdEf"))


def image_volume_findings(task_definition: Document, image: str, declared: set[str]) -> list[Finding]:
    """Each writable task volume mounted in the main container sits on a VOLUME the image declares:
    Fargate creates a task volume root-owned 0755 unless the image declares one at that path (then it
    takes the image's owner and mode), so elsewhere uid 10001 cannot write it."""
    container = main_container(task_definition)
    if container is None:
        return []
    found = []
    for mount in container.get("mountPoints") or []:
        path = str(mount.get("containerPath", ""))
        if not mount.get("readOnly") and path and path.rstrip("/") not in {volume.rstrip("/") for volume in declared}:
            found.append(Finding(None, ERROR, f"{path}: a writable task volume where image {image} declares no VOLUME: on "
                                              "Fargate it starts root-owned 0755, not writable by the service user; declare "
                                              f"VOLUME {path} in the image after making it the user's", "image-volumes",
                                 Where(object=f"container {container.get('name')}")))
    return found
