"""What both command lines share (deeptempo-entrypoint's and deeptempo-deploy's): the --spec and -o/--json
options, and run_click, the one mapping of outcomes to exit codes. Configuration errors exit 78 with the
problem named and no traceback; a bug exits 70 naming only its type."""

import os
from collections.abc import Callable

import click

from deeptempo_entrypoint.constants import DEBUG_VARIABLE, EXIT_INTERRUPTED, EXIT_OK, EXIT_SOFTWARE
from deeptempo_entrypoint.errors import KitError

spec_option = click.option(
    "--spec", "spec_path", type=click.Path(dir_okay=True), default=None,
    help="Secrets spec YAML (default: $DEEPTEMPO_SECRETS_SPEC, else the built-in spec).")


def _json_alias(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.params["output"] = "json"


def _output_format(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    return value or str(ctx.params.get("output") or "text")


def output_option(function: Callable[..., object]) -> Callable[..., object]:
    """`-o text|json` (`--output`), as kubectl's and helm's, and `--json`, its alias: the command gets
    `output`. The JSON shape is the same for every report (report.REPORT_SCHEMA)."""
    function = click.option("--json", is_flag=True, expose_value=False, callback=_json_alias,
                            help="The same as -o json.")(function)
    return click.option("-o", "--output", type=click.Choice(["text", "json"]), default=None, callback=_output_format,
                        help="The report's format: text (default) or json (one shape for every report).")(function)


def run_click(group: click.Group, argv: list[str] | None, prog_name: str,
              report_config_error: Callable[[KitError], None],
              report_usage_error: Callable[[click.ClickException], None] | None = None) -> int:
    """Run a click group and return the exit code: click's own (its return value with
    standalone_mode=False, where ctx.exit(n) returns n), the KitError's (78, 69), 70 for a bug.
    `report_usage_error` shows click's usage errors (default: click's own way)."""
    try:
        code = group.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except KitError as exc:
        report_config_error(exc)
        return exc.exit_code
    except click.ClickException as exc:
        (report_usage_error or click.ClickException.show)(exc)
        return exc.exit_code
    except click.exceptions.Abort:
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: its message could hold a value, so show only the type
        if os.environ.get(DEBUG_VARIABLE) == "1":
            raise
        click.echo(f"{prog_name}: internal error ({type(exc).__name__}); set {DEBUG_VARIABLE}=1 for details", err=True)
        return EXIT_SOFTWARE
    return code if isinstance(code, int) else EXIT_OK
