"""serve: what the platform gave -> a ServePlan (or ValidationFailed) -> uvicorn, in this process or
under a supervisor (deeptempo_entrypoint.supervisor)."""


from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from importlib.machinery import PathFinder
from typing import Any

from uvicorn.logging import DefaultFormatter

from deeptempo_entrypoint import scoping
from deeptempo_entrypoint.app_process import AppPlan, serve_app
from deeptempo_entrypoint.backend_policy import serve_backend_findings, serve_settings
from deeptempo_entrypoint.constants import ALLOW_PERSISTENT_BACKEND_VARIABLE, CHILD_SECRETS_VARIABLE
from deeptempo_entrypoint.database import database_login, wait_for_login
from deeptempo_entrypoint.database import driver as database_driver
from deeptempo_entrypoint.database import wait_seconds as database_wait_seconds
from deeptempo_entrypoint.echo import safe_to_echo
from deeptempo_entrypoint.errors import ConfigError, KitError
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding, has_errors
from deeptempo_entrypoint.formats import is_true
from deeptempo_entrypoint.http_limits import BoundedH11Protocol
from deeptempo_entrypoint.launch import ValidationFailed, program_environment
from deeptempo_entrypoint.report import format_findings
from deeptempo_entrypoint.resolution import Resolution, resolve
from deeptempo_entrypoint.scoping import scope_for
from deeptempo_entrypoint.server_options import (
    UvicornOptions,
    config_parameters,
    limit_warnings,
    parse_uvicorn_options,
    server_config,
)
from deeptempo_entrypoint.sources.chains import deployment_sources, process_environ
from deeptempo_entrypoint.sources.options import OptionsSource
from deeptempo_entrypoint.spec import builtin_spec
from deeptempo_entrypoint.spec.model import FOLLOW, RESTART, Entry, Spec
from deeptempo_entrypoint.supervisor import Supervisor
from deeptempo_entrypoint.validation import validate, value_problem

_log = logging.getLogger("deeptempo_entrypoint.serve")

INHERIT = "inherit"  # DEEPTEMPO_CHILD_SECRETS=inherit: every child of the app inherits every secret
# uvicorn's settings, and the serve options that set them (an option wins over its variable).
SERVER_SETTINGS = ("APP_MODULE", "APP_DIR", "HOST", "PORT", "WEB_CONCURRENCY", "LOG_LEVEL", "FORWARDED_ALLOW_IPS")
PATH_ECHO_LIMIT = 200  # a path is echoed when it holds no secret, however long
SERVER_OPTIONS = {"APP_MODULE": "--app", "APP_DIR": "--app-dir", "HOST": "--host", "PORT": "--port"}


@dataclass
class ServePlan:
    """What serve runs: the app process's plan, how many of them, the files of the secrets a restart
    takes (a supervisor follows them), and the warnings to print before the start."""

    app: AppPlan
    workers: int = 1
    restart_files: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def supervised(self) -> bool:
        return self.workers > 1 or bool(self.restart_files)


def prepare_serve(spec: Spec, options: Mapping[str, Any], uvicorn_args: Sequence[str] = (),
                  environ: MutableMapping[str, str] | None = None, env_file: str | None = None) -> ServePlan:
    environ = process_environ(environ)
    # uvicorn's own options after `--`, read by uvicorn's command line; those that set a setting count as
    # that setting's option: validated, and seen by the APP_MODULE pre-check and the health probe.
    try:
        given = parse_uvicorn_options(uvicorn_args)
    except ConfigError as exc:
        raise ValidationFailed([Finding(None, ERROR, str(exc))]) from None
    options = {**given.settings, **{name: value for name, value in options.items() if value is not None}}
    # serve refuses the keyring unless allowed: it is not even touched then (a keyring that hangs or
    # fails cannot delay or break a start it would refuse anyway).
    allowed = is_true(environ.get(ALLOW_PERSISTENT_BACKEND_VARIABLE))
    option_names = {**SERVER_OPTIONS, **{name: f"-- {flag}" for name, flag in given.flags.items()
                                         if name in given.settings and options.get(name) == given.settings[name]}}
    resolution = resolve(spec, deployment_sources(environ, env_file, OptionsSource(options, option_names),
                                                  keyring=None if allowed else False))
    findings = validate(spec, resolution) + _unlisted_server_setting_findings(spec, resolution)
    findings += serve_backend_findings(resolution)
    settings = {name: resolution.value(name) or _default(spec, name) or "" for name in SERVER_SETTINGS}
    inherit = (environ.get(CHILD_SECRETS_VARIABLE) or "").strip().lower() == INHERIT
    withheld = resolution.withheld
    if not has_errors(findings):
        findings += (app_module_findings(settings, environ, withheld) + address_findings(given, withheld)
                     + loop_findings(given, inherit))
    if has_errors(findings):
        raise ValidationFailed(findings)
    findings += [Finding(None, WARNING, line) for line in limit_warnings(config_parameters())]
    http = None if "http" in given.config else BoundedH11Protocol
    environment = serve_environment(environ, resolution)
    files = resolution.files(entry.name for entry in spec.secrets)
    config = server_config(settings, given, http)
    if not inherit:
        config["loop"] = "asyncio"  # its subprocesses go through subprocess.Popen, which the audit hook sees
    app = AppPlan(app=settings["APP_MODULE"], config=config, environment=environment,
                  scope=None if inherit else scope_for(spec, environment),
                  followed=policy_files(spec, files, FOLLOW), spec_origin=spec.origin,
                  app_dir=settings["APP_DIR"] or None, address=_served_address(settings, given), withheld=withheld)
    return ServePlan(app, int(settings["WEB_CONCURRENCY"]), policy_files(spec, files, RESTART), findings)


def serve_environment(environ: MutableMapping[str, str], resolution: Resolution) -> dict[str, str]:
    """The app's os.environ: the platform's, the resolved secrets and settings, and serve's backend
    (SECRETS_BACKEND=env, the keyring off) unless allowed otherwise."""
    backend_settings = serve_settings(resolution)
    defaulted = [name for name in backend_settings if resolution.value(name) is None]
    environment = program_environment(environ, resolution, defaulted)
    environment.update(backend_settings)
    return environment


def policy_files(spec: Spec, files: Mapping[str, str], policy: str) -> dict[str, str]:
    """The secrets read from files whose spec entry rotates them by `policy`, and their files."""
    return {name: path for name, path in files.items() if spec.by_name[name].rotation == policy}


def serve(plan: ServePlan, replan: Callable[[set[str]], AppPlan | None] | None = None) -> int:
    """Hand over to uvicorn: in this process (same PID, no wrapper left, no second interpreter start) or,
    for more than one worker or a secret whose change needs a restart, under a supervisor. `replan`
    gives the plan a restart takes (prepare_serve again), or None when the new values are not valid.
    Returns uvicorn's exit code (or, supervised, ends by the signal that stopped it)."""
    configure_logging()
    wait_for_the_database(plan.app.environment, withheld=plan.app.withheld)
    if not plan.supervised:
        return serve_app(plan.app)
    if plan.app.scope is not None:
        scoping.clean_c_environment(plan.app.scope)  # the app processes start without them in theirs
    return Supervisor(plan.app, plan.workers, plan.restart_files, replan or (lambda changed: None)).run()


RESTART_DATABASE_SECONDS = 15.0  # how long a restart waits for the database to take the new login


def replanner(spec: Spec, options: Mapping[str, Any], uvicorn_args: Sequence[str],
              env_file: str | None) -> Callable[[set[str]], AppPlan | None]:
    """What a restart for changed secrets takes: every source read again and validated, and the
    database's login tried with the new values, as at the start. None, with the reasons logged (by
    name, never a value), when the new configuration would not serve: the running app keeps the last."""

    def replan(changed: set[str]) -> AppPlan | None:
        names = ", ".join(sorted(changed))
        try:
            plan = prepare_serve(spec, options, uvicorn_args, env_file=env_file)
            wait_for_the_database(plan.app.environment, RESTART_DATABASE_SECONDS, plan.app.withheld)
        except ValidationFailed as exc:
            _log.error("not restarting for %s: the new configuration is not valid; the running app keeps the last "
                       "values:\n%s", names, format_findings(exc.findings, title="the new configuration"))
            return None
        except KitError as exc:
            _log.error("not restarting for %s: %s; the running app keeps the last values", names, exc)
            return None
        return plan.app

    return replan


def wait_for_the_database(environment: Mapping[str, str], seconds: float | None = None,
                          withheld: Collection[str] = ()) -> None:
    """When the app will use a database, log in to it as the app will before handing over (exit 69 or
    78 when it cannot: deeptempo_entrypoint.database); without a driver, a warning. `withheld`: the
    values its messages never quote (the run's secrets)."""
    login = database_login(environment, withheld)
    if login is None:
        return
    postgres = database_driver()
    if postgres is None:
        _log.warning("POSTGRES_HOST is set, but no PostgreSQL driver is installed here: serve cannot check the login "
                     "before the start (install deeptempo-entrypoint[database], or the app's psycopg2)")
        return
    waited = wait_for_login(login, database_wait_seconds(environment) if seconds is None else seconds, postgres)
    if waited >= 1:
        _log.info("the database at %s accepted the login after %.1f s", login.where, waited)


def configure_logging() -> None:
    """The kit's own lines (rotation, restarts, children) on stderr beside uvicorn's, in its format."""
    logger = logging.getLogger("deeptempo_entrypoint")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s", use_colors=False))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def loop_findings(given: UvicornOptions, inherit: bool) -> list[Finding]:
    """uvloop starts the app's child processes in C (libuv), where no audit hook sees them: with the
    secrets kept from children, serve runs asyncio's own loop, and refuses uvloop asked for by name."""
    if inherit or given.config.get("loop") in (None, "auto", "asyncio"):
        return []
    return [Finding(None, ERROR, f"serve -- --loop {given.config['loop']}: its subprocesses start outside Python's process "
                                 "APIs, where serve cannot keep the secrets from them; use asyncio's loop (the default here), "
                                 "or DEEPTEMPO_CHILD_SECRETS=inherit to let every child inherit every secret")]


def address_findings(given: UvicornOptions, withheld: Collection[str] = ()) -> list[Finding]:
    """uvicorn's --uds and --fd checked before the start, so a wrong one is named (exit 78) instead of
    ending in uvicorn's traceback."""
    uds, descriptor = given.config.get("uds"), given.config.get("fd")
    if uds:
        directory = os.path.dirname(os.path.abspath(uds)) or "."
        if not os.path.isdir(directory) or not os.access(directory, os.W_OK | os.X_OK):
            shown = directory if safe_to_echo(directory, withheld=withheld, limit=PATH_ECHO_LIMIT) else "its directory"
            return [Finding(None, ERROR, f"serve -- --uds: {shown} does not exist or is not writable by this user, so the "
                                         "socket cannot be made there")]
    if descriptor is not None:
        try:
            is_socket = stat.S_ISSOCK(os.fstat(int(descriptor)).st_mode)
        except (OSError, OverflowError, ValueError):
            is_socket = False
        if not is_socket:
            return [Finding(None, ERROR, f"serve -- --fd {str(descriptor)[:20]}: no listening socket is open on that descriptor "
                                         "(it must be inherited from the platform, as systemd's socket activation does)")]
    return []


def _builtin_entry(name: str) -> Entry:
    return builtin_spec().by_name[name]


def _default(spec: Spec, name: str) -> str | None:
    entry = spec.by_name.get(name) or _builtin_entry(name)  # a user's own spec may leave the server settings out
    return entry.default


def _unlisted_server_setting_findings(spec: Spec, resolution: Resolution) -> list[Finding]:
    """A user's spec without the server settings: they are still checked, by the built-in entries."""
    findings = []
    for name in SERVER_SETTINGS:
        value = resolution.value(name)
        if name not in spec.by_name and value:
            reason = value_problem(_builtin_entry(name), value, spec, resolution.withheld)
            if reason:
                findings.append(Finding(name, ERROR, reason))
    return findings


def app_module_findings(settings: Mapping[str, Any], environ: MutableMapping[str, str],
                        withheld: Collection[str] = ()) -> list[Finding]:
    """APP_MODULE's module must be findable where uvicorn will look (APP_DIR, PYTHONPATH, the installed
    packages), found without importing it: importing the app is uvicorn's job, after the exec."""
    module = settings["APP_MODULE"].partition(":")[0]
    app_dir = os.path.abspath(settings["APP_DIR"] or ".")
    echoed = safe_to_echo(app_dir, withheld=withheld, limit=PATH_ECHO_LIMIT)
    shown_dir = f" ({app_dir})" if echoed else ""
    if settings["APP_DIR"] and not os.path.isdir(app_dir):
        where = f"directory {app_dir}:" if echoed else "the directory it names"
        return [Finding("APP_DIR", ERROR, f"{where} does not exist")]
    search = [app_dir, *filter(None, (environ.get("PYTHONPATH") or "").split(os.pathsep)), *filter(None, sys.path)]
    if module_findable(module, search):
        return []
    shown = f"module {module}" if safe_to_echo(module, withheld=withheld) else "its module"
    return [Finding("APP_MODULE", ERROR, f"{shown} cannot be found in APP_DIR{shown_dir}, PYTHONPATH or the installed "
                                         "packages; set APP_DIR to the directory that holds it")]


def module_findable(module: str, search_path: Iterable[str]) -> bool:
    """Whether `a.b.c` exists where the import system would find it with `search_path` as sys.path
    (editable installs' finders included), without running any package's __init__."""
    parts = module.split(".")
    path = list(search_path)
    for index in range(len(parts)):
        spec = _find_spec(".".join(parts[: index + 1]), path, top_level=index == 0)
        if spec is None:
            return False
        path = spec.submodule_search_locations
        if path is None and index < len(parts) - 1:
            return False  # a plain module has no submodules
    return True


def _find_spec(fullname: str, path: list[str] | None, top_level: bool) -> Any:
    for finder in sys.meta_path:
        if finder is PathFinder or isinstance(finder, type) and issubclass(finder, PathFinder):
            spec = PathFinder.find_spec(fullname, path)
        elif hasattr(finder, "find_spec"):
            spec = finder.find_spec(fullname, None if top_level else path)
        else:
            continue
        if spec is not None:
            return spec
    return None


def _served_address(settings: Mapping[str, Any], given: UvicornOptions) -> tuple[str, str]:
    """Where uvicorn will listen, for the health probe: a unix socket (`-- --uds PATH`) or an inherited
    descriptor (`-- --fd N`) instead of HOST and PORT when given."""
    if given.config.get("uds"):
        return "unix", str(given.config["uds"])
    if given.config.get("fd") is not None:
        return "fd", str(given.config["fd"])
    return str(settings["HOST"]), str(settings["PORT"])


