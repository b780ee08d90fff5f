"""`verify ecs TASKDEF [--policy FILE]`: botocore's ParamValidator against the ECS model's
RegisterTaskDefinition input (offline), then what botocore does not check: enum values, the Fargate
task sizes, awslogs options, healthCheck ranges, valueFrom ARN syntax, secrets kept out of
`environment`, every required secret present, the hardening fields, and with --policy a policy that
covers every valueFrom and nothing more. Findings name the rule in brackets and never a value."""

import fnmatch
import json

from entrypoint.constants import DEFAULT_PORT, HEALTH_PATH
from entrypoint.errors import ConfigError
from entrypoint.findings import ERROR, WARNING, Finding
from entrypoint.platforms.ecs import FARGATE_SIZES
from entrypoint.platforms.ecs.arns import parse_value_from
from entrypoint.platforms.rules import reachability_findings, writable_state_findings
from entrypoint.platforms.spec_view import SpecView
from entrypoint.textfile import read_text

# What describe-task-definition adds and register-task-definition does not take.
READ_ONLY_FIELDS = ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt",
                    "registeredBy", "deregisteredAt")
FARGATE_LOG_DRIVERS = ("awslogs", "splunk", "awsfirelens")
AWSLOGS_REQUIRED = ("awslogs-group", "awslogs-region", "awslogs-stream-prefix")
HEALTH_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}


def load_json(path, text=None, what="task definition"):
    if text is None:
        text = read_text(path, error=ConfigError, what=what)  # refuses FIFOs and huge files, names the file
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what} {path}: not valid JSON at line {exc.lineno}, column {exc.colno}") from None


def task_definition_input(document):
    """RegisterTaskDefinition's input from a file: the input itself, or describe-task-definition's
    output (its `taskDefinition`, without the read-only fields)."""
    if isinstance(document, dict) and isinstance(document.get("taskDefinition"), dict):
        document = document["taskDefinition"]
    if not isinstance(document, dict):
        raise ConfigError("task definition: must be a JSON object")
    return {key: value for key, value in document.items() if key not in READ_ONLY_FIELDS}


def verify_ecs(task_definition, spec, policy=None):
    findings = model_findings(task_definition)
    if any(f.is_error for f in findings):
        return findings, {}  # the rules below need the shapes botocore checks
    findings += enum_findings(task_definition)
    findings += fargate_findings(task_definition)
    containers = task_definition["containerDefinitions"]
    container = next((c for c in containers if "deeptempo" in c.get("image", "")), containers[0])
    where = f"container {container['name']}"
    findings += log_findings(container, task_definition, where)
    findings += health_findings(container, where)
    findings += hardening_findings(task_definition, container, where)
    volumes = {volume.get("name") for volume in task_definition.get("volumes") or []}
    mounted = [m.get("containerPath", "") for m in container.get("mountPoints") or [] if m.get("sourceVolume") in volumes]
    findings += writable_state_findings(container.get("readonlyRootFilesystem") is True, mounted, where)
    view = SpecView(spec)
    reachable, secret_findings = secret_entries(view, container, where)
    findings += secret_findings + reachability_findings(spec, reachable, where)
    if policy is not None:
        findings += policy_findings(policy, containers)
    return findings, reachable


def model_findings(task_definition):
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
        findings.append(Finding(None, ERROR, f"[ecs-model] {name}: {words}"))
    if report.has_errors() and not findings:
        findings.append(Finding(None, ERROR, "[ecs-model] the task definition does not fit RegisterTaskDefinition"))
    return findings


def enum_findings(task_definition):
    """Enum values, from the same model (ParamValidator does not check them)."""
    import botocore.session

    shape = botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape
    findings = []

    def walk(value, shape, path):
        if shape.type_name == "structure" and isinstance(value, dict):
            for key, member in shape.members.items():
                if key in value:
                    walk(value[key], member, f"{path}.{key}" if path else key)
        elif shape.type_name == "list" and isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, shape.member, f"{path}[{index}]")
        elif shape.type_name == "map" and isinstance(value, dict):
            for key, item in value.items():
                walk(item, shape.value, f"{path}.{key}")
        elif shape.type_name == "string" and getattr(shape, "enum", None) and value not in shape.enum:
            findings.append(Finding(None, ERROR, f"[ecs-enum] {path}: must be one of {', '.join(shape.enum)}"))

    walk(task_definition, shape, "")
    return findings


def fargate_findings(task_definition):
    if "FARGATE" not in (task_definition.get("requiresCompatibilities") or []):
        return [Finding(None, WARNING, "[fargate] requiresCompatibilities does not name FARGATE; Fargate rules not applied")]
    findings = []
    if task_definition.get("networkMode") != "awsvpc":
        findings.append(Finding(None, ERROR, "[fargate] networkMode must be awsvpc on Fargate"))
    cpu, memory = str(task_definition.get("cpu", "")), str(task_definition.get("memory", ""))
    if cpu not in FARGATE_SIZES or not memory.isdigit() or int(memory) not in FARGATE_SIZES[cpu]:
        findings.append(Finding(None, ERROR, f"[fargate] cpu {cpu or '(unset)'} with memory {memory or '(unset)'} is not a "
                                             "Fargate task size (256: 512-2048; 512: 1024-4096; 1024: 2048-8192; ...)"))
    if task_definition.get("executionRoleArn") and task_definition.get("executionRoleArn") == task_definition.get("taskRoleArn"):
        findings.append(Finding(None, ERROR, "[roles] executionRoleArn and taskRoleArn must be distinct roles"))
    if not task_definition.get("executionRoleArn"):
        findings.append(Finding(None, ERROR, "[roles] executionRoleArn is missing (Fargate reads secrets and logs with it)"))
    return findings


def log_findings(container, task_definition, where):
    config = container.get("logConfiguration") or {}
    driver = config.get("logDriver")
    if not driver:
        return [Finding(None, ERROR, f"[logging] {where}: no logConfiguration")]
    findings = []
    if "FARGATE" in (task_definition.get("requiresCompatibilities") or []) and driver not in FARGATE_LOG_DRIVERS:
        findings.append(Finding(None, ERROR, f"[logging] {where}: logDriver {driver} is not available on Fargate "
                                             f"({', '.join(FARGATE_LOG_DRIVERS)})"))
    if driver == "awslogs":
        missing = [option for option in AWSLOGS_REQUIRED if not (config.get("options") or {}).get(option)]
        if missing:
            findings.append(Finding(None, ERROR, f"[logging] {where}: awslogs needs {', '.join(missing)}"))
    return findings


def health_findings(container, where):
    check = container.get("healthCheck")
    if not check:
        return [Finding(None, ERROR, f"[healthcheck] {where}: no healthCheck; probe {HEALTH_PATH} on {DEFAULT_PORT}")]
    findings = []
    command = check.get("command") or []
    if not command or command[0] not in ("CMD", "CMD-SHELL"):
        findings.append(Finding(None, ERROR, f"[healthcheck] {where}: command must start with CMD or CMD-SHELL"))
    elif HEALTH_PATH not in " ".join(command[1:]) or str(DEFAULT_PORT) not in " ".join(command[1:]):
        findings.append(Finding(None, ERROR, f"[healthcheck] {where}: the command does not probe {HEALTH_PATH} on {DEFAULT_PORT}"))
    for field, (low, high) in HEALTH_RANGES.items():
        if field in check and not (isinstance(check[field], int) and low <= check[field] <= high):
            findings.append(Finding(None, ERROR, f"[healthcheck] {where}: {field} must be from {low} to {high}"))
    return findings


def hardening_findings(task_definition, container, where):
    findings = []

    def require(rule, ok, message):
        if not ok:
            findings.append(Finding(None, ERROR, f"[{rule}] {where}: {message}"))

    user = str(container.get("user") or "")
    require("non-root", user and user.split(":")[0] not in ("0", "root"), "user must be a non-root uid (10001:10001)")
    require("read-only-root", container.get("readonlyRootFilesystem") is True, "readonlyRootFilesystem must be true")
    require("init", (container.get("linuxParameters") or {}).get("initProcessEnabled") is True,
            "linuxParameters.initProcessEnabled must be true (an init reaps the MCP servers' zombies)")
    require("privileged", not container.get("privileged"), "privileged must not be true")
    require("essential", container.get("essential", True) is True, "the service container must be essential")
    volumes = {volume.get("name") for volume in task_definition.get("volumes") or []}
    require("tmp-writable", any(m.get("containerPath") == "/tmp" and m.get("sourceVolume") in volumes
                                for m in container.get("mountPoints") or []),
            "a task volume mounted at /tmp is missing (a read-only root needs one)")
    require("port", any(p.get("containerPort") == DEFAULT_PORT for p in container.get("portMappings") or []),
            f"no portMapping for {DEFAULT_PORT}")
    if not container.get("stopTimeout"):
        findings.append(Finding(None, WARNING, f"[stop-timeout] {where}: no stopTimeout (30 s is the Fargate default)"))
    return findings


def secret_entries(view, container, where):
    reachable, findings = {}, []
    for variable in container.get("environment") or []:
        name = variable.get("name", "")
        if view.is_secret_key(name) or view.entry_for_file_variable(name):
            findings.append(Finding(name, ERROR, f"[no-plaintext-secret] {where}: environment holds {name}, a secret in "
                                                 "plain text; move it to `secrets` (valueFrom Secrets Manager or SSM)"))
    for item in container.get("secrets") or []:
        name, value_from = item.get("name", ""), item.get("valueFrom", "")
        if parse_value_from(value_from) is None:
            findings.append(Finding(name, ERROR, f"[value-from] {where}: the valueFrom of {name} is neither a Secrets "
                                                 "Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:"
                                                 "version-stage:version-id]) nor an SSM parameter ARN or name"))
        entry = view.entry_for_key(name)
        if entry:
            reachable.setdefault(entry.name, f"secrets {value_from}")
        elif name:
            findings.append(Finding(name, WARNING, f"[secret-keys] {where}: secret {name} is not a name the spec knows"))
    return reachable, findings


def policy_findings(policy, containers):
    """The execution role's policy must cover every valueFrom and grant nothing more."""
    refs = [parse_value_from(item.get("valueFrom", "")) for container in containers for item in container.get("secrets") or []]
    refs = [ref for ref in refs if ref]
    statements = policy.get("Statement") or []
    statements = [statements] if isinstance(statements, dict) else statements
    grants = {"secretsmanager:GetSecretValue": [], "ssm:GetParameters": []}
    findings = []
    for index, statement in enumerate(statements):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource") or []
        resources = [resources] if isinstance(resources, str) else resources
        where = f"[least-privilege] policy Statement[{index}] ({statement.get('Sid', 'no Sid')})"
        if any(action == "*" or action.endswith(":*") for action in actions):
            findings.append(Finding(None, ERROR, f"{where}: grants every action of a service; name the actions"))
        if "*" in resources and set(actions) != {"ecr:GetAuthorizationToken"}:
            findings.append(Finding(None, ERROR, f"{where}: Resource \"*\"; name the resources (only "
                                                 "ecr:GetAuthorizationToken needs \"*\")"))
        for action in actions:
            for granted in grants:
                if fnmatch.fnmatchcase(granted, action):
                    grants[granted] += resources
    needed = {"secretsmanager:GetSecretValue": [ref for ref in refs if ref.service == "secretsmanager"],
              "ssm:GetParameters": [ref for ref in refs if ref.service == "ssm"]}
    for action, wanted in needed.items():
        resources = grants[action]
        for ref in wanted:
            if not any(_covers(resource, ref.resource) for resource in resources):
                findings.append(Finding(None, ERROR, f"[least-privilege] policy: {action} does not cover {ref.resource}"))
        for resource in resources:
            if resource != "*" and not any(_covers(resource, ref.resource) for ref in wanted):
                findings.append(Finding(None, ERROR, f"[least-privilege] policy: {action} on {resource}, which no "
                                                     "valueFrom of the task reads"))
    return findings


def _covers(pattern, resource):
    """An IAM resource pattern covers a (partial) secret ARN: exactly, or with Secrets Manager's
    six-character suffix (NAME-??????), or by its own wildcards."""
    return any(fnmatch.fnmatchcase(candidate, pattern) for candidate in (resource, resource + "-AbCdEf"))
