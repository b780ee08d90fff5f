"""deeptempo-deploy: thin click commands for an operator's machine or CI. `render`, `verify` and `local`
take a platform name and are built from the platform registry (deploy/deeptempo_deploy/platforms/registry.py), each
with its platform's own options plus the shared ones; `smoke` takes an image. Every report leaves
through the functions below."""

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from deeptempo_deploy.platforms.platform import Platform, Verb, Verdict
from deeptempo_deploy.platforms.registry import platforms
from deeptempo_entrypoint import __version__
from deeptempo_entrypoint.cli import json_option, run_click, spec_option
from deeptempo_entrypoint.constants import DEFAULT_PORT, EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, HEALTH_PATH
from deeptempo_entrypoint.errors import KitError
from deeptempo_entrypoint.findings import ERROR, Finding, has_errors
from deeptempo_entrypoint.report import findings_document, format_findings
from deeptempo_entrypoint.spec.model import Spec

PROG = "deeptempo-deploy"


def _platform_lines() -> str:
    return "\n".join(f"  {p.name:<8} {p.summary}: {', '.join(p.verbs)}" for p in platforms())


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog="\b\nPlatforms and what each supports:\n" + _platform_lines())
@click.version_option(__version__, "--version", prog_name=PROG)
def cli() -> None:
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
@click.option("--route", "routes", multiple=True, metavar="[METHOD] PATH",
              help="A route the leak crawl requests besides the OpenAPI document's GET routes (repeatable; "
                   "GET unless a method is named).")
@click.option("--seed", "seeds", multiple=True, nargs=3, metavar="METHOD PATH JSON",
              help="A request sent before the crawl, its JSON body carrying canaries: ${NAME} becomes secret NAME's "
                   "canary, so a route that echoes what was stored is caught (repeatable).")
@spec_option
@json_option
def smoke(image: str, port: int, health_path: str, timeout: float, writable: tuple[str, ...], routes: tuple[str, ...],
          seeds: tuple[tuple[str, str, str], ...], spec_path: str | None, as_json: bool) -> None:
    """Run the image checks on IMAGE: healthy, non-root, reaps zombies, leaks no secret through its own
    routes, stops fast, refuses missing secrets and the keyring, runs hardened, writable volumes, leaks no
    secret to logs or inspect. Exit 0 only when every check passes (a skipped one says why)."""
    from deeptempo_deploy.smoke import SmokeOptions, format_results, passed, results_document, run_smoke
    from deeptempo_entrypoint.spec import load_spec

    options = SmokeOptions(image, port=port, health_path=health_path, timeout=timeout, writable=writable, routes=routes,
                           seeds=tuple((method.upper(), path, document) for method, path, document in seeds))
    spec = load_spec(spec_path)
    results = run_smoke(options, spec)
    if as_json:
        emit_json(results_document(image, results), spec)
    else:
        emit(format_results(image, results), spec=spec)
    sys.exit(EXIT_OK if passed(results) else EXIT_FAILURE)


@cli.group()
def render() -> None:
    """Write the manifest parts the secrets spec decides, for one platform."""


@cli.group()
def verify() -> None:
    """Judge a manifest: the platform's own schema, then the kit's rules. Exit 78 on any error."""


@cli.group()
def local() -> None:
    """Run a manifest's container in Docker as its platform would, wait for its health check, report."""


# --- the commands, from the registry -----------------------------------------------------------------

def _command(platform: Platform, verb: Verb, callback: Callable[..., None], shared: list[click.Parameter]) -> click.Command:
    return click.Command(platform.name, callback=callback, params=[*verb.params, *shared], help=verb.help)


def _shared(*decorators: Callable[[Callable[..., Any]], Callable[..., Any]]) -> list[click.Parameter]:
    """The parameters the shared decorators (--spec, --json) add, as click objects."""
    def holder() -> None:
        pass

    for decorator in decorators:
        decorator(holder)
    params: list[click.Parameter] = list(reversed(getattr(holder, "__click_params__", [])))
    return params


def render_command(platform: Platform, verb: Verb) -> click.Command:
    def run(spec_path: str | None, output_dir: str, check_only: bool, **options: Any) -> None:
        from deeptempo_entrypoint.spec import load_spec

        sys.exit(write_rendered(verb.run(load_spec(spec_path), **options), output_dir, check_only))

    shared = [click.Option(["--output-dir"], type=click.Path(file_okay=False), default=".", show_default=True,
                           help="Where the rendered files go (relative paths as in the repository)."),
              click.Option(["--check", "check_only"], is_flag=True,
                           help="Write nothing; exit 1 when a file differs from what would be rendered."),
              *_shared(spec_option)]
    return _command(platform, verb, run, shared)


def verify_command(platform: Platform, verb: Verb) -> click.Command:
    def run(spec_path: str | None, as_json: bool, **options: Any) -> None:
        from deeptempo_entrypoint.errors import ConfigError
        from deeptempo_entrypoint.spec import load_spec

        spec = load_spec(spec_path)
        try:
            verdict = verb.run(spec, **options)
        except ConfigError as exc:  # an input that cannot be judged: its finding, in the report asked for
            verdict = Verdict(f"verify {platform.name}", [Finding(None, ERROR, str(exc), "input")], {})
        report_verdict(verdict, as_json, spec)

    return _command(platform, verb, run, _shared(spec_option, json_option))


def local_command(platform: Platform, verb: Verb) -> click.Command:
    def run(as_json: bool, **options: Any) -> None:
        title, result = verb.run(**options)
        report_local(title, result, as_json)

    return _command(platform, verb, run, _shared(json_option))


for _platform in platforms():
    for _group, _build in ((render, render_command), (verify, verify_command), (local, local_command)):
        _verb = getattr(_platform, _group.name or "")
        if _verb is not None:
            _group.add_command(_build(_platform, _verb))


# --- the way out: every report of deeptempo-deploy ----------------------------------------------------

def emit(text: str, err: bool = False, spec: Spec | None = None) -> None:
    """The one way out: whatever deeptempo-deploy writes passes the redaction boundary first (with the
    spec the command was given, whose secrets' shapes it masks besides the built-in spec's)."""
    from deeptempo_deploy.redaction import mask

    click.echo(mask(text, spec), err=err)


def emit_json(document: object, spec: Spec | None = None) -> None:
    """A JSON document through the same boundary, masked string by string so it stays valid JSON."""
    from deeptempo_deploy.redaction import mask_document

    click.echo(json.dumps(mask_document(document, spec), indent=2))


def write_rendered(files: dict[str, str], output_dir: str, check_only: bool) -> int:
    """Write (or, with --check, compare) the rendered files; returns the exit code."""
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
        emit(f"wrote {path}")
    for relative in stale:
        emit(f"{relative}: differs from what the spec renders (run without --check to update it)", err=True)
    return EXIT_FAILURE if stale else EXIT_OK


def report_verdict(verdict: Verdict, as_json: bool, spec: Spec | None = None) -> None:
    ok = not has_errors(verdict.findings)
    if as_json:
        emit_json(findings_document(ok, verdict.findings, verdict.sources), spec)
    else:
        title = f"{verdict.title}: {'valid' if ok else 'NOT valid'}"
        emit(format_findings(verdict.findings, title=title, program=PROG, with_rules=True), err=not ok, spec=spec)
    sys.exit(EXIT_OK if ok else EXIT_CONFIG)


def report_local(title: str, result: Any, as_json: bool) -> None:
    """The run's end: ready or not, then each test hook's; exit 0 only when ready and every hook passed."""
    if as_json:
        emit_json({"ready": result.ready, "reason": result.reason, "seconds": round(result.seconds, 2),
                   "log_tail": result.log_tail, "warnings": result.warnings,
                   "tests": [{"name": test.name, "passed": test.passed, "exit_code": test.exit_code,
                              "seconds": round(test.seconds, 2), "log_tail": test.log_tail} for test in result.tests]})
        sys.exit(EXIT_OK if result.succeeded else EXIT_FAILURE)
    for warning in result.warnings:
        emit(f"{PROG}: {title}: warning: {warning}", err=True)
    if result.ready:
        emit(f"{PROG}: {title}: {result.reason} after {result.seconds:.1f} s")
    else:
        emit(f"{PROG}: {title}: NOT ready: {result.reason}\n  last log lines:\n{_indented(result.log_tail)}", err=True)
    for test in result.tests:
        if test.passed:
            emit(f"{PROG}: {title}: test {test.name}: passed after {test.seconds:.1f} s")
        else:
            ending = "did not end in time" if test.exit_code is None else f"exited with code {test.exit_code}"
            emit(f"{PROG}: {title}: test {test.name}: FAILED: {ending}\n  last log lines:\n{_indented(test.log_tail)}",
                 err=True)
    sys.exit(EXIT_OK if result.succeeded else EXIT_FAILURE)


def _indented(log_tail: str) -> str:
    return "\n".join("    " + line for line in log_tail.splitlines()) or "    (no output)"


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
