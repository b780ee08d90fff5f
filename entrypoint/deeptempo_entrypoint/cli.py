"""deeptempo-entrypoint: thin click commands over the library (parse options, call, map errors to exit
codes through commandline.run_click). Configuration errors exit 78 with the problem named and no traceback.

Like the official images' entrypoints: `deeptempo-entrypoint --port 8000` means `serve --port 8000`,
and a command that is not one of ours (`sh`, `python -c ...`) is run with the secrets loaded."""


import json
import os
import sys
from collections.abc import Mapping

import click

from deeptempo_entrypoint import __version__
from deeptempo_entrypoint.commandline import output_option, run_click, spec_option
from deeptempo_entrypoint.constants import (
    DEFAULT_PORT,
    ENV_FILE_VARIABLE,
    EXIT_CONFIG,
    EXIT_NOT_EXECUTABLE,
    EXIT_NOT_FOUND,
    EXIT_OK,
)
from deeptempo_entrypoint.env_example import render_env_example
from deeptempo_entrypoint.errors import KitError
from deeptempo_entrypoint.findings import has_errors
from deeptempo_entrypoint.launch import (
    ValidationFailed,
    check_configuration,
    load_spec_reporting,
    prepare_exec,
    replace_process,
)
from deeptempo_entrypoint.report import findings_json, format_findings
from deeptempo_entrypoint.resolution import Resolution
from deeptempo_entrypoint.sources.chains import default_dotenv_path, deployment_sources, process_environ
from deeptempo_entrypoint.spec import load_spec
from deeptempo_entrypoint.spec.model import BUILTIN_ORIGIN

# The start of every container runs `check` or `serve` through this module, so the modules of the other
# commands are imported in their own command, not here: together (status with the secrets library and its
# logging, migrate-keyring with the env-file writer, compile-spec with the cache's hashing) they measured
# 12 ms on `check` (python -X importtime), and serve's uvicorn and supervisor tens of ms more.
env_file_option = click.option(
    "--env-file", type=click.Path(dir_okay=True), default=None,
    help="Env-file to read (default: $DEEPTEMPO_ENV_FILE, else ~/.deeptempo/.env when present).")


class EntrypointGroup(click.Group):
    """Like the official images: leading options mean `serve`, an unknown first word is a command to run."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `docker run IMAGE deeptempo-entrypoint check` is `docker run IMAGE check`, not a pass-through of
        # the program to itself (which would report twice, with the pass-through's source labels).
        while args and os.path.basename(args[0]) == "deeptempo-entrypoint":
            args = args[1:]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            if args[0].startswith("-"):
                _refuse_options_before_a_command(args, self.commands)
                args = ["serve", *args]
            else:
                args = ["exec", "--", *args]
        return super().parse_args(ctx, args)


def _refuse_options_before_a_command(args: list[str], commands: Mapping[str, click.Command]) -> None:
    own = args[: args.index("--")] if "--" in args else args
    command = next((arg for arg in own if arg in commands), None)
    if command:
        options = " ".join(arg for arg in own if arg != command)
        raise click.UsageError(f"options go after the command: deeptempo-entrypoint {command} {options}")


class ServeCommand(click.Command):
    """serve's own options, then `--` and uvicorn's options unchanged. An unknown option before `--` is
    the kit's error, not uvicorn's usage text."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        split = args.index("--") if "--" in args else len(args)
        ctx.meta["uvicorn_args"] = args[split + 1:]
        try:
            return super().parse_args(ctx, args[:split])
        except click.NoSuchOption as exc:
            raise click.UsageError(f"serve has no option {exc.option_name}; uvicorn's own options go after `--`: "
                                   f"deeptempo-entrypoint serve -- {exc.option_name} ...", ctx) from None


@click.group(cls=EntrypointGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
             epilog="\b\nShell completion (bash; zsh and fish alike with zsh_source, fish_source):\n"
                    "  eval \"$(_DEEPTEMPO_ENTRYPOINT_COMPLETE=bash_source deeptempo-entrypoint)\"   # in ~/.bashrc")
@click.version_option(__version__, "--version", prog_name="deeptempo-entrypoint")
def cli() -> None:
    """Validated start-up and secrets tooling for the DeepTempo AI SOC backend."""


@cli.command(short_help="Check every secret of the spec; exit 0 when valid, 78 on any configuration error.")
@env_file_option
@spec_option
@output_option
def check(env_file: str | None, spec_path: str | None, output: str) -> None:
    """Check every secret of the spec; exit 0 when valid, 78 on any configuration error. The report goes
    to stdout whatever the verdict."""
    spec, spec_findings = load_spec_reporting(spec_path)
    resolution, findings = check_configuration(spec, deployment_sources(process_environ(), env_file))
    findings = spec_findings + findings
    ok = not has_errors(findings)
    if output == "json":
        click.echo(findings_json("check", ok, findings, resolution.sources()))
    else:
        title = "secrets configuration is valid" if ok else "secrets configuration is NOT valid"
        click.echo(format_findings(findings, title=title) + _sources_line(resolution))
    sys.exit(EXIT_OK if ok else EXIT_CONFIG)


def _sources_line(resolution: Resolution) -> str:
    sources = resolution.sources()
    return ("\n  set: " + ", ".join(f"{name} ({source})" for name, source in sources.items())) if sources else ""


@cli.command(short_help="Show the secrets backends and where each secret comes from (never its value).")
@env_file_option
@spec_option
@output_option
def status(env_file: str | None, spec_path: str | None, output: str) -> None:
    """The secrets backends, and which source provides each secret (never its value); exit 78 when the
    configuration has errors, as `check`."""
    from deeptempo_entrypoint.status import format_status, secrets_status  # the other commands' modules: above

    spec, spec_findings = load_spec_reporting(spec_path)
    report = secrets_status(spec, env_file=env_file, spec_findings=spec_findings)
    if output == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(format_status(report))
    sys.exit(EXIT_CONFIG if any(finding["level"] == "error" for finding in report["findings"]) else EXIT_OK)


@cli.command("migrate-keyring", short_help="Move the spec's secrets from the OS keyring into a .env file (mode 0600).")
@click.option("--to", "target", type=click.Path(dir_okay=False), default=None,
              help="The .env file to write (default: $DEEPTEMPO_ENV_FILE, else ~/.deeptempo/.env).")
@click.option("--delete", is_flag=True, help="Delete the moved secrets from the keyring afterwards.")
@spec_option
def migrate_keyring_command(target: str | None, delete: bool, spec_path: str | None) -> None:
    """Move the spec's secrets from the OS keyring into a .env file (mode 0600)."""
    from deeptempo_entrypoint.keyring_migration import migrate_keyring  # the other commands' modules: above

    target = target or os.environ.get(ENV_FILE_VARIABLE) or default_dotenv_path()
    moved = migrate_keyring(load_spec(spec_path), target, delete=delete)
    for name, stored_as in moved:
        alias = f" (stored as {stored_as})" if stored_as != name else ""
        click.echo(f"moved {name}{alias} -> {target}{' and deleted it from the keyring' if delete else ''}")
    if not moved:
        click.echo("no secrets of the spec were found in the keyring")
    else:
        click.echo("next: export ENABLE_KEYRING=false SECRETS_BACKEND=dotenv, and restart the application")


@cli.command("env-example", short_help="Print env.example for the spec, every entry described.")
@spec_option
def env_example(spec_path: str | None) -> None:
    """Print env.example for the spec (every entry, described, grouped by service)."""
    click.echo(render_env_example(load_spec(spec_path)), nl=False)


@cli.command("compile-spec", short_help="Check a spec of your own once and cache it, so starts skip parsing it.")
@spec_option
def compile_spec_command(spec_path: str | None) -> None:
    """Check a spec of your own once and keep the result in the cache (~/.cache/deeptempo), so a start
    loads it without parsing: run it in your image's build (RUN deeptempo-entrypoint compile-spec
    --spec F), and a read-only container starts as fast as with the built-in spec. Exit 78 on a bad spec."""
    from deeptempo_entrypoint.spec.cache import cached_path  # the other commands' modules: above

    spec = load_spec(spec_path)
    if spec.origin == BUILTIN_ORIGIN:
        click.echo(f"spec built-in: {len(spec.entries)} entries, valid; compiled into the package already")
        return
    where = cached_path(spec.origin)
    kept = f"kept in {where}" if where else "no cache directory could be written: every start checks it in full"
    click.echo(f"spec {spec.origin}: {len(spec.entries)} entries, valid; {kept}")


@cli.command(cls=ServeCommand, short_help="Load the secrets, validate them, then start uvicorn (the default command).")
@env_file_option
@spec_option
@click.option("--app", "app_module", default=None, help="ASGI app, module:attribute (default: $APP_MODULE, else the built-in app).")
@click.option("--app-dir", default=None, help="Directory to import the app from (default: $APP_DIR, else the working directory).")
@click.option("--host", default=None, help="Listen address (default: $HOST, else 0.0.0.0).")
@click.option("--port", default=None, help=f"Listen port (default: $PORT, else {DEFAULT_PORT}).")
def serve(env_file: str | None, spec_path: str | None, app_module: str | None, app_dir: str | None, host: str | None,
          port: int | None) -> None:
    """Load secrets from every platform source, validate them, then hand over to uvicorn.

    Options after `--` are uvicorn's own. An option is checked exactly like its variable."""
    from deeptempo_entrypoint.serving import prepare_serve, replanner, serve

    spec = load_spec(spec_path)
    options = {"APP_MODULE": app_module, "APP_DIR": app_dir, "HOST": host, "PORT": port}
    uvicorn_args = click.get_current_context().meta["uvicorn_args"]
    plan = prepare_serve(spec, options, uvicorn_args, env_file=env_file)
    if plan.findings:
        click.echo(format_findings(plan.findings, title="starting with warnings"), err=True)
    sys.exit(serve(plan, replanner(spec, options, uvicorn_args, env_file)))


@cli.command("exec", short_help="Run COMMAND with the secrets loaded, unvalidated (`docker run IMAGE sh`).", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@env_file_option
@spec_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(env_file: str | None, spec_path: str | None, command: tuple[str, ...]) -> None:
    """Run COMMAND with the secrets loaded (no validation): `docker run IMAGE sh`."""
    launch = prepare_exec(load_spec(spec_path), command, env_file=env_file)
    if launch.findings:
        click.echo(format_findings(launch.findings, title="secrets loaded with problems"), err=True)
    try:
        replace_process(launch)
    except FileNotFoundError:
        click.echo(f"deeptempo-entrypoint: command not found: {command[0]}{_did_you_mean(command[0])}", err=True)
        sys.exit(EXIT_NOT_FOUND)
    except PermissionError:
        click.echo(f"deeptempo-entrypoint: permission denied: {command[0]}", err=True)
        sys.exit(EXIT_NOT_EXECUTABLE)


def _did_you_mean(word: str) -> str:
    """A first word that is no program but close to a subcommand was most likely a typo of it."""
    import difflib  # measured 9 ms: paid only by a mistyped command

    close = difflib.get_close_matches(word, [name for name in cli.commands if name != "exec"], n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`? (deeptempo-entrypoint {close[0]} --help)" if close else ""


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_click(cli, argv, "deeptempo-entrypoint", _report_config_error))


def _report_config_error(exc: KitError) -> None:
    if isinstance(exc, ValidationFailed):
        click.echo(format_findings(exc.findings, title="refusing to start: the secrets configuration is not valid"), err=True)
    else:
        click.echo(f"deeptempo-entrypoint: {exc}", err=True)
