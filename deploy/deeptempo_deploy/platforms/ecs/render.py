"""`render ecs`: the Fargate task definition with one `secrets` entry per secret of the spec, in one of
three layouts, and the execution role's least-privilege policy computed from the rendered valueFroms.
With a database (the default), the task reads its host as a setting and the application user's
password from the `password` key of a Secrets Manager JSON secret in RDS's shape, whatever the layout."""


from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deeptempo_deploy.platforms.ecs import CONTAINER, EXECUTION_ROLE_POLICY, FARGATE_SIZES, LAYOUTS, TASK_DEFINITION
from deeptempo_deploy.platforms.ecs.arns import KMS_KEY, parse_value_from
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint.constants import (
    DATA_BACKEND_VARIABLE,
    DATA_DIR,
    DATABASE_HOST_VARIABLE,
    DATABASE_STORAGE,
    SERVICE_UID,
    STATE_DIR,
)
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.spec.model import Spec

if TYPE_CHECKING:
    from typing import Any

ECR_IMAGE = re.compile(r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repository>[^:@]+)")


# The committed files' example database: an Aurora PostgreSQL cluster's writer endpoint.
EXAMPLE_DATABASE_HOST = "deeptempo.cluster-c0ffee123456.us-east-1.rds.amazonaws.com"
DATABASE_PASSWORD = "POSTGRES_PASSWORD"
DATABASE_PASSWORD_KEY = "password"  # RDS's shape of a credential secret: {"username": ..., "password": ...}
# A Secrets Manager name (an RDS-managed secret's starts with `rds!`).
SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@!-]{1,512}")
# Seconds the healthCheck's failures do not count after a start: the real backend's measured start (to
# 48 s on a loaded machine, README.md "Start-up budgets") with room to spare.
START_PERIOD = 60


def health_command(spec: Spec) -> list[str]:
    """The image's probe (bash's /dev/tcp, no interpreter start) on the spec's port and health path."""
    return ["CMD", "deeptempo-probe", f"http://127.0.0.1:{spec.port}{spec.health_path}"]


@dataclass
class EcsOptions:
    """The documented example values render the committed files (README.md, "AWS ECS/Fargate")."""

    account: str = "111122223333"
    region: str = "us-east-1"
    image: str | None = None  # default: the account's ECR repository deeptempo-ai-soc, tag 0.1.0
    layout: str = "secret-per-variable"
    name: str = "deeptempo/production"  # secret name prefix, JSON secret name, or SSM path
    kms_key_arn: str | None = None  # a customer-managed key that encrypts the secrets (default: AWS managed)
    only: tuple[str, ...] = ()  # the spec secrets to include (default: all)
    family: str = "deeptempo"
    cpu: str = "512"
    memory: str = "1024"
    log_group: str = "/ecs/deeptempo"
    environment: dict[str, str] = field(default_factory=dict)
    # The backend's PostgreSQL (None: no database; the task keeps JSON files, so run one task only), and
    # the Secrets Manager JSON secret holding its application user's password (default: NAME/database).
    database_host: str | None = EXAMPLE_DATABASE_HOST
    database_secret: str | None = None
    database_name: str = "deeptempo_soc"
    database_user: str = "deeptempo"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{12}", self.account):
            raise ConfigError("--account must be a 12-digit AWS account id")
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", self.region):
            raise ConfigError("--region must be an AWS region such as us-east-1")
        if self.layout not in LAYOUTS:
            raise ConfigError(f"--layout must be one of {', '.join(LAYOUTS)}")
        if not self.memory.isdigit() or int(self.memory) not in FARGATE_SIZES.get(self.cpu, []):
            raise ConfigError(f"--cpu {self.cpu} with --memory {self.memory} is not a Fargate task size")
        if self.kms_key_arn is not None and not KMS_KEY.fullmatch(self.kms_key_arn):
            raise ConfigError("--kms-key-arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID, or alias/NAME)")
        if not re.fullmatch(r"[A-Za-z0-9/_+=.@-]{1,256}", self.name):
            raise ConfigError("--name must be a Secrets Manager name or SSM path (letters, digits and /_+=.@-)")
        self.image = self.image or f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/deeptempo-ai-soc:0.1.0"
        self.name = self.name.strip("/")
        self.database_secret = (self.database_secret or f"{self.name}/database").strip("/")
        if not SECRET_NAME.fullmatch(self.database_secret):
            raise ConfigError("--database-secret must be a Secrets Manager secret name (letters, digits and /_+=.@!-)")
        if self.database_host is not None and not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", self.database_host):
            raise ConfigError("--database-host must be a host name or address")


def database_value_from(options: EcsOptions) -> str:
    """The password key of the database's JSON secret: ECS takes one key of a JSON secret as ARN:KEY::."""
    return (f"arn:aws:secretsmanager:{options.region}:{options.account}:secret:{options.database_secret}:"
            f"{DATABASE_PASSWORD_KEY}::")


def database_environment(options: EcsOptions) -> dict[str, str]:
    """The database's settings, as the task's environment (none of them is a secret)."""
    if options.database_host is None:
        return {}
    return {DATA_BACKEND_VARIABLE: DATABASE_STORAGE, DATABASE_HOST_VARIABLE: options.database_host,
            "POSTGRES_PORT": "5432", "POSTGRES_DB": options.database_name, "POSTGRES_USER": options.database_user,
            "POSTGRES_SSL_MODE": "require",  # TLS to RDS: every RDS PostgreSQL instance serves it
            # The health check requires the backend to report PostgreSQL storage: a fall back to JSON files
            # (a database restart it lost) makes the task unhealthy, and ECS replaces it.
            "DEEPTEMPO_REQUIRE_STORAGE": "postgresql"}


def value_from(options: EcsOptions, entry_name: str) -> str:
    base = f"arn:aws:%s:{options.region}:{options.account}:"
    if options.layout == "secret-per-variable":
        return base % "secretsmanager" + f"secret:{options.name}/{entry_name}"
    if options.layout == "json-secret":
        return base % "secretsmanager" + f"secret:{options.name}:{entry_name}::"
    return base % "ssm" + f"parameter/{options.name}/{entry_name}"


def render_task_definition(spec: Spec, options: EcsOptions) -> dict[str, Any]:
    entries = SpecView(spec).secrets
    names = [entry.name for entry in entries]
    for unknown in sorted(set(options.only) - set(names)):
        close = difflib.get_close_matches(unknown, names, n=1, cutoff=0.8)
        shown = SpecView(spec).judged_name(unknown, "a name")
        raise ConfigError(f"--only: {shown} is no secret of the spec" + (f"; did you mean {close[0]}?" if close else ""))
    # With a database, its password is always read (POSTGRES_HOST requires it), from the database's secret.
    database = options.database_host is not None
    chosen = [entry for entry in entries if not options.only or entry.name in options.only
              or (database and entry.name == DATABASE_PASSWORD)]
    role = f"arn:aws:iam::{options.account}:role/"
    environment = {"SECRETS_BACKEND": "env", **database_environment(options), **options.environment}
    return {
        "family": options.family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": options.cpu,
        "memory": options.memory,
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        "executionRoleArn": role + "deeptempo-execution",
        "taskRoleArn": role + "deeptempo-task",
        "volumes": [{"name": "tmp"}, {"name": "state"}, {"name": "data"}],
        "containerDefinitions": [{
            "name": CONTAINER,
            "image": options.image,
            "essential": True,
            "portMappings": [{"name": "http", "containerPort": spec.port, "protocol": "tcp"}],
            "user": f"{SERVICE_UID}:{SERVICE_UID}",
            "readonlyRootFilesystem": True,
            "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp"},
                            {"sourceVolume": "state", "containerPath": STATE_DIR},
                            {"sourceVolume": "data", "containerPath": DATA_DIR}],
            "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
            "stopTimeout": 30,
            "environment": [{"name": name, "value": value} for name, value in sorted(environment.items())],
            "secrets": [{"name": entry.name, "valueFrom": database_value_from(options)
                         if database and entry.name == DATABASE_PASSWORD else value_from(options, entry.name)}
                        for entry in chosen],
            "healthCheck": {"command": health_command(spec), "interval": 5, "timeout": 5, "retries": 3,
                            "startPeriod": START_PERIOD},
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": options.log_group, "awslogs-region": options.region, "awslogs-stream-prefix": "deeptempo"}},
        }],
    }


def render_execution_role_policy(task_definition: dict[str, Any], options: EcsOptions) -> dict[str, Any]:
    """Least privilege for the execution role: read exactly the rendered valueFroms, decrypt with the
    given key only, write the task's log group, pull its ECR image."""
    refs = [ref for container in task_definition["containerDefinitions"] for item in container.get("secrets") or []
            if (ref := parse_value_from(item["valueFrom"])) is not None]
    secret_arns = sorted({f"{ref.resource}-??????" for ref in refs if ref.service == "secretsmanager"})
    parameter_arns = sorted({ref.resource for ref in refs if ref.service == "ssm"})
    statements = []
    if secret_arns:
        statements.append({"Sid": "ReadTheTaskSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                           "Resource": secret_arns})
    if parameter_arns:
        statements.append({"Sid": "ReadTheTaskParameters", "Effect": "Allow", "Action": ["ssm:GetParameters"],
                           "Resource": parameter_arns})
    if options.kms_key_arn:
        statements.append({"Sid": "DecryptThem", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [options.kms_key_arn]})
    log_group = task_definition["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"]
    statements.append({"Sid": "WriteTheTaskLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                       "Resource": [f"arn:aws:logs:{options.region}:{options.account}:log-group:{log_group}:*"]})
    image = ECR_IMAGE.match(task_definition["containerDefinitions"][0]["image"])
    if image:
        # GetAuthorizationToken has no resource to scope to: the one "*" a verify allows.
        statements.append({"Sid": "AuthenticateToECR", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"})
        statements.append({"Sid": "PullTheImage", "Effect": "Allow",
                           "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                           "Resource": [f"arn:aws:ecr:{image['region']}:{image['account']}:repository/{image['repository']}"]})
    return {"Version": "2012-10-17", "Statement": statements}


def render(spec: Spec, options: EcsOptions | None = None) -> dict[str, str]:
    options = options or EcsOptions()
    task_definition = render_task_definition(spec, options)
    policy = render_execution_role_policy(task_definition, options)
    return {TASK_DEFINITION: json.dumps(task_definition, indent=2) + "\n",
            EXECUTION_ROLE_POLICY: json.dumps(policy, indent=2) + "\n"}

