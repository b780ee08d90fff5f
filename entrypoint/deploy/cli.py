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


def main(argv=None):
    sys.exit(run_click(cli, argv, PROG, _report_error))


def _report_error(exc):
    from entrypoint.launch import ValidationFailed
    from entrypoint.report import format_findings

    if isinstance(exc, ValidationFailed):
        click.echo(format_findings(exc.findings, title="the configuration is not valid"), err=True)
    else:
        click.echo(f"{PROG}: {exc}", err=True)
