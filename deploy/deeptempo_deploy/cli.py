"""deeptempo-deploy: thin click commands for an operator's machine or CI. `render`, `verify` and `local`
take a platform name and are built from the platform registry (deploy/deeptempo_deploy/platforms/registry.py), each
with its platform's own options plus the shared ones; `smoke` takes an image. Every report leaves
through output.py (stdout, `-o text|json`, the redaction boundary); diagnostics go to stderr."""

import sys
from collections.abc import Callable
from typing import Any

import click

from deeptempo_deploy.output import (
    PROG,
    Progress,
    emit,
    emit_json,
    quiet_option,
    report_local,
    report_smoke,
    report_verdict,
    write_rendered,
)
from deeptempo_deploy.platforms.platform import Local, Platform, Render, Verdict, Verify
from deeptempo_deploy.platforms.registry import platforms
from deeptempo_deploy.platforms.runner import DEFAULT_TIMEOUT_SECONDS
from deeptempo_entrypoint import __version__
from deeptempo_entrypoint.commandline import output_option, run_click, spec_option
from deeptempo_entrypoint.constants import DEFAULT_PORT, HEALTH_PATH
from deeptempo_entrypoint.errors import KitError
from deeptempo_entrypoint.findings import ERROR, Finding
from deeptempo_entrypoint.report import format_findings

__all__ = ["cli", "emit", "emit_json", "main", "report_local", "report_verdict"]

HELP_WIDTH = 120  # click's help wraps at 80 columns and cuts a command's summary to fit; these fit whole
COMPLETION = ("\b\nShell completion (bash; zsh and fish alike with zsh_source, fish_source):\n"
              "  eval \"$(_DEEPTEMPO_DEPLOY_COMPLETE=bash_source deeptempo-deploy)\"   # in ~/.bashrc")


def _platform_lines() -> str:
    width = max(len(p.name) for p in platforms())
    return "\n".join(f"  {p.name:<{width}}  {p.summary}: {', '.join(p.verbs)}" for p in platforms())


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": HELP_WIDTH},
             epilog="\b\nPlatforms and what each supports:\n" + _platform_lines() + "\n\n" + COMPLETION)
@click.version_option(__version__, "--version", prog_name=PROG)
def cli() -> None:
    """Render, verify and run the DeepTempo AI SOC deployment manifests; smoke-test images."""


@cli.command(short_help="Run the image checks on IMAGE (health, non-root, leaks, hardening); exit 1 on a failure.")
@click.argument("image")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
              help="The container port the service listens on.")
@click.option("--health-path", default=HEALTH_PATH, show_default=True, help="The HTTP path that answers 200 when healthy.")
@click.option("--timeout", type=click.FloatRange(1, 600), default=DEFAULT_TIMEOUT_SECONDS, show_default=True,
              help="Seconds each container may take to turn healthy or to exit.")
@click.option("--writable", multiple=True, metavar="PATH",
              help="A path the read-only check mounts as tmpfs, besides /tmp (repeatable).")
@click.option("--route", "routes", multiple=True, metavar="[METHOD] PATH",
              help="A route the leak crawl requests besides the OpenAPI document's GET routes (repeatable; "
                   "GET unless a method is named).")
@click.option("--seed", "seeds", multiple=True, nargs=3, metavar="METHOD PATH JSON",
              help="A request sent before the crawl, its JSON body carrying canaries: ${NAME} becomes secret NAME's "
                   "canary, so a route that echoes what was stored is caught (repeatable).")
@spec_option
@output_option
@quiet_option
def smoke(image: str, port: int, health_path: str, timeout: float, writable: tuple[str, ...], routes: tuple[str, ...],
          seeds: tuple[tuple[str, str, str], ...], spec_path: str | None, output: str, quiet: bool) -> None:
    """Run the image checks on IMAGE: healthy, non-root, reaps zombies, leaks no secret through its own
    routes, stops fast, refuses missing secrets and the keyring, runs hardened, writable volumes, leaks no
    secret to logs or inspect. Exit 0 only when every check passes (a skipped one says why)."""
    from deeptempo_deploy.smoke import SmokeOptions, run_smoke
    from deeptempo_entrypoint.spec import load_spec

    options = SmokeOptions(image, port=port, health_path=health_path, timeout=timeout, writable=writable, routes=routes,
                           seeds=tuple((method.upper(), path, document) for method, path, document in seeds))
    spec = load_spec(spec_path)
    progress = Progress(quiet)
    progress.line(f"smoke {image}: starting the checks")
    results = run_smoke(options, spec, lambda result: progress.line(
        f"{'SKIP' if result.skipped else 'PASS' if result.ok else 'FAIL'}  {result.name}"))
    report_smoke(image, results, output, spec)


@cli.group(short_help="Render the manifest parts the secrets spec decides, to stdout or into --output-dir.")
def render() -> None:
    """Render the manifest parts the secrets spec decides, for one platform: to stdout as one stream in
    which each file is named (`# Source: PATH`, as `helm template` prints), or into --output-dir DIR
    (`--output-dir .` updates a checkout's committed files)."""


@cli.group(short_help="Judge a manifest by its platform's schema and the kit's rules; exit 78 on any error.")
def verify() -> None:
    """Judge a manifest: the platform's own schema, then the kit's rules. The report goes to stdout
    whatever the verdict; exit 78 on any error."""


@cli.group(short_help="Run a manifest's container in Docker as its platform would; exit 0 once it is healthy.")
def local() -> None:
    """Run a manifest's container in Docker as its platform would, wait for its health check, report
    (exit 0 once healthy, 1 otherwise)."""


# --- the commands, from the registry -----------------------------------------------------------------

ACTIONS = {  # what each verb does, the summary `deeptempo-deploy VERB --help` lists for each platform
    "render": "Render the {platform} files the secrets spec decides.",
    "verify": "Judge {platform} manifests by their schema and the kit's rules; exit 78 on any error.",
    "local": "Run the container of a {platform} manifest in Docker; exit 0 once it is healthy.",
}


def _command(platform: Platform[Any], verb: Render[Any] | Verify[Any] | Local[Any], callback: Callable[..., None], shared: list[click.Parameter],
             action: str) -> click.Command:
    summary = ACTIONS[action].format(platform=platform.summary)
    return click.Command(platform.name, callback=callback, params=[*verb.params, *shared],
                         help=f"{summary}\n\n{verb.help}", short_help=summary)


def _shared(*decorators: Callable[[Callable[..., Any]], Callable[..., Any]]) -> list[click.Parameter]:
    """The parameters the shared decorators (--spec, --json) add, as click objects."""
    def holder() -> None:
        pass

    for decorator in decorators:
        decorator(holder)
    params: list[click.Parameter] = list(reversed(getattr(holder, "__click_params__", [])))
    return params


def render_command(platform: Platform[Any], verb: Render[Any]) -> click.Command:
    def run(spec_path: str | None, output_dir: str | None, check_only: bool, **options: Any) -> None:
        from deeptempo_entrypoint.spec import load_spec

        sys.exit(write_rendered(verb.run(load_spec(spec_path), verb.options(**options)), output_dir, check_only))

    shared = [click.Option(["--output-dir"], type=click.Path(file_okay=False), default=None,
                           help="Write the files under DIR (paths as in the repository; `.` in a checkout updates "
                                "the committed files) instead of printing them to stdout."),
              click.Option(["--check", "check_only"], is_flag=True,
                           help="Write nothing; exit 1 when a file under --output-dir (default: .) differs from "
                                "what would be rendered."),
              *_shared(spec_option)]
    return _command(platform, verb, run, shared, "render")


def verify_command(platform: Platform[Any], verb: Verify[Any]) -> click.Command:
    def run(spec_path: str | None, output: str, **options: Any) -> None:
        from deeptempo_entrypoint.errors import ConfigError
        from deeptempo_entrypoint.spec import load_spec

        spec = load_spec(spec_path)
        try:
            verdict = verb.run(spec, verb.options(**options))
        except ConfigError as exc:  # an input that cannot be judged: its finding, in the report asked for
            verdict = Verdict(f"verify {platform.name}", [Finding(None, ERROR, str(exc), "input")], {})
        report_verdict(verdict, output, spec)

    return _command(platform, verb, run, _shared(spec_option, output_option), "verify")


def local_command(platform: Platform[Any], verb: Local[Any]) -> click.Command:
    def run(output: str, quiet: bool, **options: Any) -> None:
        timeout = options.get("timeout")
        with Progress(quiet).waiting(f"local {platform.name}: starting the container and waiting for its health check"
                                     + (f" (up to {timeout:g} s)" if timeout else "")):
            run = verb.run(verb.options(**options))
        report_local(run.title, run.result, output)

    return _command(platform, verb, run, _shared(output_option, quiet_option), "local")


for _platform in platforms():
    for _group, _build in ((render, render_command), (verify, verify_command), (local, local_command)):
        _verb = getattr(_platform, _group.name or "")
        if _verb is not None:
            _group.add_command(_build(_platform, _verb))


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_click(cli, argv, PROG, _report_error, _report_usage_error))


def _report_usage_error(exc: click.ClickException) -> None:
    """click's usage errors repeat what was typed (`--timeout <a pasted key>`): through the boundary too."""
    emit(_usage_text(exc), err=True)


def _usage_text(exc: click.ClickException) -> str:
    import io

    stream = io.StringIO()
    exc.show(file=stream)
    return stream.getvalue().rstrip("\n")


def _report_error(exc: KitError) -> None:
    from deeptempo_entrypoint.launch import ValidationFailed

    if isinstance(exc, ValidationFailed):
        emit(format_findings(exc.findings, title="the configuration is not valid"), err=True)
    else:
        emit(f"{PROG}: {exc}", err=True)
