"""`local ecs TASKDEF`, the successor of `ecs-cli local up`: resolve every valueFrom (from a local
mapping file, or through the AWS APIs with boto3), then run the essential container with the Docker
runner as ECS would (its environment and secrets, user, read-only root, task volumes, init) and wait
for the task's own healthCheck."""


from __future__ import annotations

import json
from typing import TYPE_CHECKING, Protocol

from deeptempo_deploy.platforms.ecs.arns import parse_value_from
from deeptempo_deploy.platforms.ecs.load import main_container
from deeptempo_deploy.platforms.runner import ContainerSpec, DockerRunner, LocalResult, NotHealthy, numeric_user, writable_tmpfs
from deeptempo_deploy.redaction import remember
from deeptempo_entrypoint.errors import ConfigError, UnavailableError

if TYPE_CHECKING:
    from typing import Any

    from deeptempo_deploy.platforms.ecs.load import Document

SECONDS = 1_000_000_000  # the Docker API counts health check times in nanoseconds


class Resolver(Protocol):
    """valueFrom -> value, as the ECS agent resolves it when the task starts."""

    def resolve(self, name: str, value_from: str) -> str: ...


class MappingResolver:
    """valueFrom -> value from a JSON file: keys are the valueFrom as written in the task definition, or
    the secret's name (CLAUDE_API_KEY)."""

    def __init__(self, path: str) -> None:
        from deeptempo_deploy.platforms.ecs.verify import load_json

        self.path = path
        self.mapping = load_json(path, what="secrets mapping")
        if not isinstance(self.mapping, dict) or not all(isinstance(v, str) for v in self.mapping.values()):
            raise ConfigError(f"secrets mapping {path}: must be a JSON object of strings")

    def resolve(self, name: str, value_from: str) -> str:
        for key in (value_from, name):
            if key in self.mapping:
                return str(self.mapping[key])
        raise ConfigError(f"secrets mapping {self.path}: no entry for {name} (its valueFrom or its name)")


class AwsResolver:
    """valueFrom -> value through Secrets Manager's GetSecretValue (json-key, version-stage and version-id
    suffixes) and SSM's GetParameters (with decryption), as the ECS agent does."""

    def __init__(self, region: str | None = None, profile: str | None = None, endpoint_url: str | None = None) -> None:
        import boto3
        from botocore.exceptions import BotoCoreError, NoRegionError, ProfileNotFound

        try:
            session = boto3.Session(profile_name=profile, region_name=region or None)
            if not session.region_name:  # unset, or set empty: botocore would build an invalid endpoint
                raise NoRegionError()
            self.secretsmanager = session.client("secretsmanager", endpoint_url=endpoint_url)
            self.ssm = session.client("ssm", endpoint_url=endpoint_url)
        except NoRegionError:
            raise ConfigError("--from-aws: no AWS region; give --region, or set AWS_DEFAULT_REGION (or the profile's "
                              "region)") from None
        except ProfileNotFound:
            raise ConfigError(f"--from-aws: the AWS profile {profile} is not configured here") from None
        except BotoCoreError as exc:
            raise ConfigError(f"--from-aws: the AWS client cannot be set up ({type(exc).__name__})") from None
        self.endpoint_url = endpoint_url

    def resolve(self, name: str, value_from: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

        ref = parse_value_from(value_from)
        if ref is None:
            raise ConfigError(f"secrets: {name}: its valueFrom is not a Secrets Manager or SSM reference")
        try:
            if ref.service == "ssm":
                answer = self.ssm.get_parameters(Names=[ref.secret_id], WithDecryption=True)
                if answer.get("InvalidParameters") or not answer.get("Parameters"):
                    raise ConfigError(f"secrets: {name}: SSM parameter {ref.secret_id} does not exist")
                return str(answer["Parameters"][0]["Value"])
            request = {"SecretId": ref.secret_id}
            if ref.version_stage:
                request["VersionStage"] = ref.version_stage
            if ref.version_id:
                request["VersionId"] = ref.version_id
            value = self.secretsmanager.get_secret_value(**request).get("SecretString")
        except NoCredentialsError:
            raise ConfigError(f"secrets: {name}: no AWS credentials (use --profile, or AWS_ACCESS_KEY_ID and "
                              "AWS_SECRET_ACCESS_KEY, or a role)") from None
        except EndpointConnectionError:
            where = self.endpoint_url or "the AWS endpoint"
            raise UnavailableError(f"secrets: {name}: {where} cannot be reached") from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise ConfigError(f"secrets: {name}: {ref.service} answered {code} for {ref.resource}") from None
        except BotoCoreError as exc:
            raise UnavailableError(f"secrets: {name}: {type(exc).__name__}") from None
        if value is None:
            raise ConfigError(f"secrets: {name}: {ref.resource} holds no SecretString")
        if not ref.json_key:
            return str(value)
        from deeptempo_deploy import jsontext

        try:
            document = jsontext.loads(value)
        except (json.JSONDecodeError, jsontext.JsonRefused):
            raise ConfigError(f"secrets: {name}: {ref.resource} is not a JSON secret, so it has no key "
                              f"{ref.json_key}") from None
        if not isinstance(document, dict) or ref.json_key not in document:
            raise ConfigError(f"secrets: {name}: the JSON secret {ref.resource} has no key {ref.json_key}")
        return str(document[ref.json_key])


def container_environment(container: Document, resolver: Resolver) -> dict[str, str]:
    environment = {item["name"]: item.get("value", "") for item in container.get("environment") or []}
    for item in container.get("secrets") or []:
        if parse_value_from(item.get("valueFrom", "")) is None:
            raise ConfigError(f"secrets: {item.get('name')}: its valueFrom is not a Secrets Manager or SSM reference")
        environment[item["name"]] = value = resolver.resolve(item["name"], item["valueFrom"])
        remember(value)  # the container's log tail is masked with it
    return environment


def docker_healthcheck(check: Document | None) -> dict[str, Any] | None:
    """The task's healthCheck as Docker's (ECS runs it the same way, in the container)."""
    if not check:
        return None
    return {"test": check["command"], "interval": check.get("interval", 30) * SECONDS,
            "timeout": check.get("timeout", 5) * SECONDS, "retries": check.get("retries", 3),
            "start_period": check.get("startPeriod", 0) * SECONDS}


def container_spec(task_definition: Document, container: Document, environment: dict[str, str], image: str | None = None,
                   fast: bool = True) -> ContainerSpec:
    volumes = {volume["name"] for volume in task_definition.get("volumes") or []}
    tmpfs = {}
    for mount in container.get("mountPoints") or []:
        if mount.get("sourceVolume") not in volumes:
            raise ConfigError(f"mountPoints: {mount.get('containerPath')}: volume {mount.get('sourceVolume')} is not "
                              "among the task's volumes")
        # A Fargate task volume is empty scratch storage for the task's life: tmpfs here, writable by the
        # container's user (on Fargate that takes the image's directory and its owner: README.md, ECS).
        tmpfs[mount["containerPath"]] = writable_tmpfs(*numeric_user(container.get("user")))
    linux = container.get("linuxParameters") or {}
    healthcheck = docker_healthcheck(container.get("healthCheck"))
    if healthcheck and fast:  # the task's own command and retries, probed every second while waiting
        healthcheck = {**healthcheck, "interval": min(healthcheck["interval"], SECONDS), "start_period": 0}
    return ContainerSpec(
        image=image or container["image"], environment=environment, user=container.get("user"),
        read_only=container.get("readonlyRootFilesystem") is True, tmpfs=tmpfs,
        cap_drop=list((linux.get("capabilities") or {}).get("drop") or []),
        cap_add=list((linux.get("capabilities") or {}).get("add") or []),
        init=linux.get("initProcessEnabled") is True,
        entrypoint=container.get("entryPoint"), command=container.get("command"),
        publish=tuple(p["containerPort"] for p in container.get("portMappings") or []),
        healthcheck=healthcheck or {"test": ["NONE"]},
        extra={"stop_signal": "SIGTERM"})


def run_local_ecs(task_definition: Document, resolver: Resolver, image: str | None = None,
                  timeout: float = 90) -> LocalResult:
    container = main_container(task_definition)
    if container is None:
        raise ConfigError("task definition: no container runs the DeepTempo image")
    environment = container_environment(container, resolver)
    spec = container_spec(task_definition, container, environment, image)
    with DockerRunner("local-ecs") as runner:
        runner.ensure_image(spec.image)
        running = runner.start(spec)
        try:
            # Healthy is the task's own healthCheck passing (and the port answering, when mapped).
            seconds = running.wait_healthy(timeout, path=None)
        except NotHealthy as exc:
            return LocalResult(False, exc.reason, log_tail=exc.log_tail)
        return LocalResult(True, "healthy: the task's healthCheck passes", seconds)
