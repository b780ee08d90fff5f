"""ECS/Fargate as a platform of deeptempo-deploy (platforms/registry.py): its manifest is a task
definition (register-task-definition input)."""

from dataclasses import dataclass
from typing import Any

import click

from deeptempo_deploy.platforms.ecs import LAYOUTS
from deeptempo_deploy.platforms.model import Workload
from deeptempo_deploy.platforms.platform import (
    Judgement,
    Local,
    LocalRun,
    Platform,
    Render,
    Rendered,
    Verdict,
    Verify,
    stdin_text_if,
)
from deeptempo_deploy.platforms.runner import DEFAULT_TIMEOUT_SECONDS
from deeptempo_entrypoint.spec.model import Spec

# A task definition, as register-task-definition takes it.
TaskDefinition = dict[str, Any]


@dataclass(frozen=True)
class RenderOptions:
    account: str
    region: str
    image: str | None
    layout: str
    name: str
    kms_key_arn: str | None
    only: tuple[str, ...]
    cpu: str
    memory: str
    database_host: str | None
    no_database: bool
    database_secret: str | None


@dataclass(frozen=True)
class VerifyOptions:
    task_definition: str
    policy_path: str | None
    image: str | None


@dataclass(frozen=True)
class LocalOptions:
    task_definition: str
    mapping: str | None
    from_aws: bool
    region: str | None
    profile: str | None
    endpoint_url: str | None
    image: str | None
    timeout: float


def load(manifest: TaskDefinition, spec: Spec) -> list[Workload]:
    from deeptempo_deploy.platforms.ecs.load import load as load_container
    from deeptempo_deploy.platforms.ecs.load import main_container

    container = main_container(manifest)
    return [] if container is None else [load_container(manifest, container, spec)]


def judge(manifest: TaskDefinition, spec: Spec) -> Judgement:
    from deeptempo_deploy.platforms.ecs.verify import verify_ecs

    return verify_ecs(manifest, spec)


def render(spec: Spec, options: RenderOptions) -> Rendered:
    from deeptempo_deploy.platforms.ecs.render import EXAMPLE_DATABASE_HOST, EcsOptions
    from deeptempo_deploy.platforms.ecs.render import render as render_files
    from deeptempo_entrypoint.errors import ConfigError

    if options.no_database and options.database_host:
        raise ConfigError("render ecs: give --database-host or --no-database, not both")
    ecs_options = EcsOptions(account=options.account, region=options.region, image=options.image, layout=options.layout,
                             name=options.name, kms_key_arn=options.kms_key_arn, only=options.only, cpu=options.cpu,
                             memory=options.memory, database_secret=options.database_secret,
                             database_host=None if options.no_database else options.database_host or EXAMPLE_DATABASE_HOST)
    return render_files(spec, ecs_options)


def verify(spec: Spec, options: VerifyOptions) -> Verdict:
    from deeptempo_deploy.platforms.ecs.load import task_definition_input
    from deeptempo_deploy.platforms.ecs.verify import image_volume_findings, load_json, verify_ecs

    path = options.task_definition
    document = task_definition_input(load_json(path, stdin_text_if(path == "-")))
    policy = load_json(options.policy_path, what="policy") if options.policy_path else None
    findings, sources = verify_ecs(document, spec, policy)
    if options.image:
        from deeptempo_deploy.platforms.runner import DockerRunner

        with DockerRunner("verify-ecs") as runner:  # only to read the image's configuration
            volumes = (runner.ensure_image(options.image).get("Config") or {}).get("Volumes") or {}
        findings += image_volume_findings(document, options.image, set(volumes))
    return Verdict(f"verify ecs {path}", findings, sources)


def local(options: LocalOptions) -> LocalRun:
    from deeptempo_deploy.platforms.ecs.load import task_definition_input
    from deeptempo_deploy.platforms.ecs.local import AwsResolver, MappingResolver, Resolver, run_local_ecs
    from deeptempo_deploy.platforms.ecs.verify import load_json
    from deeptempo_entrypoint.errors import ConfigError

    if bool(options.mapping) == bool(options.from_aws):
        raise ConfigError("local ecs: give exactly one of --secrets FILE and --from-aws")
    document = task_definition_input(load_json(options.task_definition))
    resolver: Resolver = (MappingResolver(options.mapping) if options.mapping
                          else AwsResolver(options.region, options.profile, options.endpoint_url))
    return LocalRun(f"local ecs {options.task_definition}", run_local_ecs(document, resolver, options.image, options.timeout))


RENDER_PARAMS: tuple[click.Parameter, ...] = (
    click.Option(["--account"], default="111122223333", show_default=True, help="The AWS account id."),
    click.Option(["--region"], default="us-east-1", show_default=True, help="The AWS region."),
    click.Option(["--image"], default=None, help="The image (default: the account's ECR repository deeptempo-ai-soc:0.1.0)."),
    click.Option(["--layout"], type=click.Choice(LAYOUTS), default="secret-per-variable", show_default=True,
                 help="Where the secrets live: a Secrets Manager secret per variable, one JSON secret holding every key, "
                      "or SSM parameters under a path."),
    click.Option(["--name"], default="deeptempo/production", show_default=True,
                 help="The secrets' name prefix, the JSON secret's name, or the SSM path."),
    click.Option(["--kms-key-arn"], default=None, help="The customer-managed KMS key that encrypts them (kms:Decrypt on it)."),
    click.Option(["--only"], multiple=True, metavar="NAME", help="Only these secrets of the spec (repeatable; default: all)."),
    click.Option(["--cpu"], default="512", show_default=True, help="Task CPU units (a Fargate size)."),
    click.Option(["--memory"], default="1024", show_default=True, help="Task memory in MiB (a Fargate size)."),
    click.Option(["--database-host"], default=None,
                 help="The backend's PostgreSQL (POSTGRES_HOST; default: the example Aurora endpoint of the committed files)."),
    click.Option(["--database-secret"], default=None, metavar="NAME",
                 help="The Secrets Manager JSON secret whose `password` key is the application user's password "
                      "(default: NAME/database; an RDS-managed `rds!...` secret is its master user's)."),
    click.Option(["--no-database"], is_flag=True,
                 help="No database: the task keeps JSON files, so run one task only."),
)
LOCAL_PARAMS: tuple[click.Parameter, ...] = (
    click.Argument(["task_definition"], type=click.Path(dir_okay=False)),
    click.Option(["--secrets", "mapping"], type=click.Path(dir_okay=False), default=None,
                 help="A JSON file mapping each valueFrom (or secret name) to its value."),
    click.Option(["--from-aws"], is_flag=True, help="Resolve the valueFroms through Secrets Manager and SSM with boto3."),
    click.Option(["--region"], default=None, help="AWS region for --from-aws (default: the profile's)."),
    click.Option(["--profile"], default=None, help="AWS profile for --from-aws."),
    click.Option(["--endpoint-url"], default=None, help="Another endpoint for --from-aws (a local stand-in of AWS)."),
    click.Option(["--image"], default=None, help="Run this image instead of the task definition's (a local build)."),
    click.Option(["--timeout"], type=click.FloatRange(1, 600), default=DEFAULT_TIMEOUT_SECONDS, show_default=True,
                 help="Seconds the task's healthCheck may take to pass."),
)

PLATFORM: Platform[TaskDefinition] = Platform(
    "ecs", "AWS ECS/Fargate", load, judge,
    render=Render("ecs/task-definition.json and ecs/execution-role-policy.json.", RenderOptions, render, RENDER_PARAMS),
    verify=Verify("TASK_DEFINITION: register-task-definition input or describe-task-definition output (JSON; - for stdin).",
                  VerifyOptions, verify, (
                      click.Argument(["task_definition"]),
                      click.Option(["--policy", "policy_path"], type=click.Path(dir_okay=False), default=None,
                                   help="The execution role's policy: it must cover every valueFrom and nothing more."),
                      click.Option(["--image"], default=None,
                                   help="A local image the task runs: its declared VOLUMEs must cover the writable mounts."),
                  )),
    local=Local("Run TASK_DEFINITION's DeepTempo container as ECS would, with its secrets; exit 0 once healthy.",
                LocalOptions, local, LOCAL_PARAMS),
)
