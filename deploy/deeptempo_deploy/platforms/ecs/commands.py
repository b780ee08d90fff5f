"""ECS/Fargate's verbs for deeptempo-deploy (platforms/registry.py)."""

from typing import Any

import click

from deeptempo_deploy.platforms.ecs import LAYOUTS
from deeptempo_deploy.platforms.platform import Platform, Verb, Verdict, stdin_text_if
from deeptempo_deploy.platforms.runner import DEFAULT_TIMEOUT_SECONDS
from deeptempo_entrypoint.spec.model import Spec


def render(spec: Spec, account: str, region: str, image: str | None, layout: str, name: str, kms_key_arn: str | None,
           only: tuple[str, ...], cpu: str, memory: str, database_host: str | None, no_database: bool,
           database_secret: str | None) -> dict[str, str]:
    from deeptempo_deploy.platforms.ecs.render import EXAMPLE_DATABASE_HOST, EcsOptions
    from deeptempo_deploy.platforms.ecs.render import render as render_files
    from deeptempo_entrypoint.errors import ConfigError

    if no_database and database_host:
        raise ConfigError("render ecs: give --database-host or --no-database, not both")
    options = EcsOptions(account=account, region=region, image=image, layout=layout, name=name, kms_key_arn=kms_key_arn,
                         only=only, cpu=cpu, memory=memory, database_secret=database_secret,
                         database_host=None if no_database else database_host or EXAMPLE_DATABASE_HOST)
    return render_files(spec, options)


def verify(spec: Spec, task_definition: str, policy_path: str | None, image: str | None = None) -> Verdict:
    from deeptempo_deploy.platforms.ecs.load import task_definition_input
    from deeptempo_deploy.platforms.ecs.verify import image_volume_findings, load_json, verify_ecs

    document = task_definition_input(load_json(task_definition, stdin_text_if(task_definition == "-")))
    policy = load_json(policy_path, what="policy") if policy_path else None
    findings, sources = verify_ecs(document, spec, policy)
    if image:
        from deeptempo_deploy.platforms.runner import DockerRunner

        with DockerRunner("verify-ecs") as runner:  # only to read the image's configuration
            volumes = (runner.ensure_image(image).get("Config") or {}).get("Volumes") or {}
        findings += image_volume_findings(document, image, set(volumes))
    return Verdict(f"verify ecs {task_definition}", findings, sources)


def local(task_definition: str, mapping: str | None, from_aws: bool, region: str | None, profile: str | None,
          endpoint_url: str | None, image: str | None, timeout: float) -> tuple[str, Any]:
    from deeptempo_deploy.platforms.ecs.load import task_definition_input
    from deeptempo_deploy.platforms.ecs.local import AwsResolver, MappingResolver, run_local_ecs
    from deeptempo_deploy.platforms.ecs.verify import load_json
    from deeptempo_entrypoint.errors import ConfigError

    if bool(mapping) == bool(from_aws):
        raise ConfigError("local ecs: give exactly one of --secrets FILE and --from-aws")
    document = task_definition_input(load_json(task_definition))
    resolver = MappingResolver(mapping) if mapping else AwsResolver(region, profile, endpoint_url)
    return f"local ecs {task_definition}", run_local_ecs(document, resolver, image, timeout)


RENDER_PARAMS: tuple[Any, ...] = (
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
LOCAL_PARAMS: tuple[Any, ...] = (
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

PLATFORM = Platform(
    "ecs", "AWS ECS/Fargate",
    render=Verb("ecs/task-definition.json and ecs/execution-role-policy.json.", render, RENDER_PARAMS),
    verify=Verb("TASK_DEFINITION: register-task-definition input or describe-task-definition output (JSON; - for stdin).",
                verify, (
                    click.Argument(["task_definition"]),
                    click.Option(["--policy", "policy_path"], type=click.Path(dir_okay=False), default=None,
                                 help="The execution role's policy: it must cover every valueFrom and nothing more."),
                    click.Option(["--image"], default=None,
                                 help="A local image the task runs: its declared VOLUMEs must cover the writable mounts."),
                )),
    local=Verb("Run TASK_DEFINITION's DeepTempo container as ECS would, with its secrets; exit 0 once healthy.", local,
               LOCAL_PARAMS),
)
