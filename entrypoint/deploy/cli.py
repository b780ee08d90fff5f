"""deeptempo-deploy: thin click commands for an operator's machine or CI (parse options, call the
library, map errors to exit codes). `render`, `verify` and `local` take a platform name; `smoke`
takes an image."""

import sys

import click

from entrypoint import __version__
from entrypoint.cli import json_option, run_click, spec_option
from entrypoint.constants import DEFAULT_PORT, EXIT_FAILURE, EXIT_OK, HEALTH_PATH

PROG = "deeptempo-deploy"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name=PROG)
def cli():
    """Render, verify and run the DeepTempo AI SOC deployment manifests; smoke-test images."""


@cli.command()
@click.argument("image")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
              help="The container port the service listens on.")
@click.option("--health-path", default=HEALTH_PATH, show_default=True, help="The HTTP path that answers 200 when healthy.")
@click.option("--timeout", type=click.FloatRange(1, 600), default=60, show_default=True,
              help="Seconds each container may take to turn healthy or to exit.")
@click.option("--writable", multiple=True, metavar="PATH",
              help="A path the read-only check mounts as tmpfs, besides /tmp (repeatable).")
@spec_option
@json_option
def smoke(image, port, health_path, timeout, writable, spec_path, as_json):
    """Run the image checks on IMAGE: healthy, non-root, reaps zombies, refuses missing secrets and the
    keyring, runs hardened, stops fast, leaks no secret. Exit 0 only when every check passes."""
    from entrypoint.deploy.smoke import SmokeOptions, format_results, results_json, run_smoke
    from entrypoint.spec import load_spec

    options = SmokeOptions(image, port=port, health_path=health_path, timeout=timeout, writable=tuple(writable))
    results = run_smoke(options, load_spec(spec_path))
    click.echo(results_json(image, results) if as_json else format_results(image, results))
    sys.exit(EXIT_OK if all(result.ok for result in results) else EXIT_FAILURE)


# --- render: the parts of each platform's manifests that the spec decides -----------------------------

@cli.group()
def render():
    """Write the manifest parts the secrets spec decides, for one platform."""


def render_options(function):
    function = click.option("--output-dir", type=click.Path(file_okay=False), default=".", show_default=True,
                            help="Where the rendered files go (relative paths as in the repository).")(function)
    function = click.option("--check", "check_only", is_flag=True,
                            help="Write nothing; exit 1 when a file differs from what would be rendered.")(function)
    return spec_option(function)


def write_rendered(files, output_dir, check_only):
    """Write (or, with --check, compare) the rendered files; returns the exit code."""
    import os

    stale = []
    for relative, content in files.items():
        path = os.path.join(output_dir, relative)
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if check_only:
            if current != content:
                stale.append(relative)
            continue
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(content)
        click.echo(f"wrote {path}")
    for relative in stale:
        click.echo(f"{relative}: differs from what the spec renders (run without --check to update it)", err=True)
    return EXIT_FAILURE if stale else EXIT_OK


@render.command("compose")
@render_options
def render_compose(spec_path, output_dir, check_only):
    """docker-compose.secrets.yml: one Docker secret per secret of the spec."""
    from entrypoint.platforms.compose.render import render as render_files
    from entrypoint.spec import load_spec

    sys.exit(write_rendered(render_files(load_spec(spec_path)), output_dir, check_only))


@render.command("k8s")
@render_options
def render_k8s(spec_path, output_dir, check_only):
    """k8s/overlays/*/secrets.env.example and the ExternalSecret's data list."""
    from entrypoint.platforms.k8s.render import render as render_files
    from entrypoint.spec import load_spec

    sys.exit(write_rendered(render_files(load_spec(spec_path)), output_dir, check_only))


@render.command("ecs")
@render_options
@click.option("--account", default="111122223333", show_default=True, help="The AWS account id.")
@click.option("--region", default="us-east-1", show_default=True, help="The AWS region.")
@click.option("--image", default=None, help="The image (default: the account's ECR repository deeptempo-ai-soc:0.1.0).")
@click.option("--layout", type=click.Choice(["secret-per-variable", "json-secret", "ssm"]), default="secret-per-variable",
              show_default=True, help="Where the secrets live: a Secrets Manager secret per variable, one JSON secret "
                                      "holding every key, or SSM parameters under a path.")
@click.option("--name", default="deeptempo/production", show_default=True,
              help="The secrets' name prefix, the JSON secret's name, or the SSM path.")
@click.option("--kms-key-arn", default=None, help="The customer-managed KMS key that encrypts them (kms:Decrypt on it).")
@click.option("--only", multiple=True, metavar="NAME", help="Only these secrets of the spec (repeatable; default: all).")
@click.option("--cpu", default="512", show_default=True, help="Task CPU units (a Fargate size).")
@click.option("--memory", default="1024", show_default=True, help="Task memory in MiB (a Fargate size).")
def render_ecs(spec_path, output_dir, check_only, account, region, image, layout, name, kms_key_arn, only, cpu, memory):
    """ecs/task-definition.json and ecs/execution-role-policy.json."""
    from entrypoint.platforms.ecs.render import EcsOptions
    from entrypoint.platforms.ecs.render import render as render_files
    from entrypoint.spec import load_spec

    options = EcsOptions(account=account, region=region, image=image, layout=layout, name=name, kms_key_arn=kms_key_arn,
                         only=tuple(only), cpu=cpu, memory=memory)
    sys.exit(write_rendered(render_files(load_spec(spec_path), options), output_dir, check_only))


@render.command("systemd")
@render_options
def render_systemd(spec_path, output_dir, check_only):
    """systemd/deeptempo.service, deeptempo-credentials.service (one LoadCredential= per secret), deeptempo@.service."""
    from entrypoint.platforms.systemd.render import render as render_files
    from entrypoint.spec import load_spec

    sys.exit(write_rendered(render_files(load_spec(spec_path)), output_dir, check_only))


# --- verify: a manifest against its platform's schema and the kit's rules ---------------------------------

@cli.group()
def verify():
    """Judge a manifest: the platform's own schema, then the kit's rules. Exit 78 on any error."""


def report_verdict(what, findings, sources, as_json):
    from entrypoint.constants import EXIT_CONFIG
    from entrypoint.findings import has_errors
    from entrypoint.report import findings_json, format_findings

    ok = not has_errors(findings)
    if as_json:
        click.echo(findings_json(ok, findings, sources))
    else:
        title = f"{what}: {'valid' if ok else 'NOT valid'}"
        click.echo(format_findings(findings, title=title, program=PROG), err=not ok)
    sys.exit(EXIT_OK if ok else EXIT_CONFIG)


@verify.command("compose")
@click.argument("files", nargs=-1, required=True)
@click.option("--service", default=None, help="The service that runs the DeepTempo image (default: deeptempo, else the "
                                              "first whose image names deeptempo).")
@click.option("--project-directory", type=click.Path(file_okay=False), default=None,
              help="Compose's project directory (default: the first file's).")
@spec_option
@json_option
def verify_compose_command(files, service, project_directory, spec_path, as_json):
    """FILES (a compose file and its overrides, in order; - for standard input) as `docker compose` merges them."""
    from entrypoint.platforms.compose.verify import verify_compose
    from entrypoint.spec import load_spec

    stdin_text = click.get_text_stream("stdin").read() if list(files) == ["-"] else None
    findings, sources = verify_compose(files, load_spec(spec_path), service, project_directory, stdin_text)
    report_verdict(f"verify compose {' '.join(files)}", findings, sources, as_json)


@verify.command("k8s")
@click.argument("target")
@click.option("--kubernetes-version", "versions", multiple=True, metavar="1.N",
              help="Validate for these versions only (repeatable; default: every version from 1.30 to 1.37).")
@spec_option
@json_option
def verify_k8s_command(target, versions, spec_path, as_json):
    """TARGET: a kustomization directory (rendered with kubectl kustomize), a rendered YAML file, or -."""
    from entrypoint.platforms.k8s import SUPPORTED_VERSIONS
    from entrypoint.platforms.k8s.verify import verify_k8s
    from entrypoint.spec import load_spec

    stdin_text = click.get_text_stream("stdin").read() if target == "-" else None
    findings, sources = verify_k8s(target, load_spec(spec_path), tuple(versions) or SUPPORTED_VERSIONS, stdin_text)
    report_verdict(f"verify k8s {target}", findings, sources, as_json)


@verify.command("ecs")
@click.argument("task_definition")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), default=None,
              help="The execution role's policy: it must cover every valueFrom and nothing more.")
@spec_option
@json_option
def verify_ecs_command(task_definition, policy_path, spec_path, as_json):
    """TASK_DEFINITION: register-task-definition input or describe-task-definition output (JSON; - for stdin)."""
    from entrypoint.platforms.ecs.verify import load_json, task_definition_input, verify_ecs
    from entrypoint.spec import load_spec

    text = click.get_text_stream("stdin").read() if task_definition == "-" else None
    document = task_definition_input(load_json(task_definition, text))
    policy = load_json(policy_path, what="policy") if policy_path else None
    findings, sources = verify_ecs(document, load_spec(spec_path), policy)
    report_verdict(f"verify ecs {task_definition}", findings, sources, as_json)


@verify.command("systemd")
@click.argument("units", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--max-exposure", type=click.FloatRange(0, 10), default=2.0, show_default=True,
              help="The highest `systemd-analyze security` exposure accepted.")
@spec_option
@json_option
def verify_systemd_command(units, max_exposure, spec_path, as_json):
    """UNITS: unit files (a template as NAME@.service)."""
    from entrypoint.platforms.systemd.verify import verify_systemd
    from entrypoint.spec import load_spec

    findings, sources = verify_systemd(units, load_spec(spec_path), max_exposure)
    report_verdict(f"verify systemd {' '.join(units)}", findings, sources, as_json)


# --- local: run a manifest's container as its platform would ---------------------------------------------

@cli.group()
def local():
    """Run a manifest's container in Docker as its platform would, wait for its health check, report."""


def report_local(what, result, as_json):
    import json

    if as_json:
        click.echo(json.dumps({"ready": result.ready, "reason": result.reason, "seconds": round(result.seconds, 2),
                               "log_tail": result.log_tail}, indent=2))
    elif result.ready:
        click.echo(f"{PROG}: {what}: {result.reason} after {result.seconds:.1f} s")
    else:
        tail = "\n".join("    " + line for line in result.log_tail.splitlines()) or "    (no output)"
        click.echo(f"{PROG}: {what}: NOT ready: {result.reason}\n  last log lines:\n{tail}", err=True)
    sys.exit(EXIT_OK if result.ready else EXIT_FAILURE)


@local.command("k8s")
@click.argument("overlay", type=click.Path(file_okay=False))
@click.option("--env-file", required=True, type=click.Path(dir_okay=False),
              help="The secrets, as the overlay's secretGenerator env-file (bare KEY=value lines).")
@click.option("--image", default=None, help="Run this image instead of the manifest's (a local build).")
@click.option("--timeout", type=click.FloatRange(1, 600), default=60, show_default=True,
              help="Seconds the readiness probe may take to pass.")
@json_option
def local_k8s_command(overlay, env_file, image, timeout, as_json):
    """Render OVERLAY and run its pod's container as a kubelet would; exit 0 once the readiness probe passes."""
    from entrypoint.platforms.k8s.local import run_local_k8s

    report_local(f"local k8s {overlay}", run_local_k8s(overlay, env_file, image, timeout), as_json)


@local.command("ecs")
@click.argument("task_definition", type=click.Path(dir_okay=False))
@click.option("--secrets", "mapping", type=click.Path(dir_okay=False), default=None,
              help="A JSON file mapping each valueFrom (or secret name) to its value.")
@click.option("--from-aws", is_flag=True, help="Resolve the valueFroms through Secrets Manager and SSM with boto3.")
@click.option("--region", default=None, help="AWS region for --from-aws (default: the profile's).")
@click.option("--profile", default=None, help="AWS profile for --from-aws.")
@click.option("--endpoint-url", default=None, help="Another endpoint for --from-aws (a local stand-in of AWS).")
@click.option("--image", default=None, help="Run this image instead of the task definition's (a local build).")
@click.option("--timeout", type=click.FloatRange(1, 600), default=90, show_default=True,
              help="Seconds the task's healthCheck may take to pass.")
@json_option
def local_ecs_command(task_definition, mapping, from_aws, region, profile, endpoint_url, image, timeout, as_json):
    """Run TASK_DEFINITION's essential container as ECS would, with its secrets; exit 0 once healthy."""
    from entrypoint.errors import ConfigError
    from entrypoint.platforms.ecs.local import AwsResolver, MappingResolver, run_local_ecs
    from entrypoint.platforms.ecs.verify import load_json, task_definition_input

    if bool(mapping) == bool(from_aws):
        raise ConfigError("local ecs: give exactly one of --secrets FILE and --from-aws")
    document = task_definition_input(load_json(task_definition))
    resolver = MappingResolver(mapping) if mapping else AwsResolver(region, profile, endpoint_url)
    report_local(f"local ecs {task_definition}", run_local_ecs(document, resolver, image, timeout), as_json)


def main(argv=None):
    sys.exit(run_click(cli, argv, PROG, _report_error))


def _report_error(exc):
    from entrypoint.launch import ValidationFailed
    from entrypoint.report import format_findings

    if isinstance(exc, ValidationFailed):
        click.echo(format_findings(exc.findings, title="the configuration is not valid"), err=True)
    else:
        click.echo(f"{PROG}: {exc}", err=True)
