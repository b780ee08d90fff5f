"""The actions at the end of the one-way flow: sources -> resolution -> validation -> exec.

`prepare_serve` and `prepare_exec` return what to exec (argv, environment) or raise ValidationFailed;
`replace_process` execs it, so the PID stays and no wrapper process remains."""


from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from deeptempo_entrypoint.constants import (
    ALLOW_PERSISTENT_BACKEND_VARIABLE,
    CHILD_SECRETS_VARIABLE,
    DEFAULT_LABEL,
    HANDOFF_VARIABLE,
    SOURCES_VARIABLE,
)
from deeptempo_entrypoint.errors import ConfigError, SpecError
from deeptempo_entrypoint.findings import ERROR, Finding, has_errors
from deeptempo_entrypoint.formats import is_true, safe_to_echo
from deeptempo_entrypoint.resolution import Resolution, resolve
from deeptempo_entrypoint.sources.chains import deployment_sources, process_environ
from deeptempo_entrypoint.sources.options import OptionsSource
from deeptempo_entrypoint.validation import validate, value_problem

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, MutableMapping, Sequence
    from typing import Any

    from deeptempo_entrypoint.children import Scope
    from deeptempo_entrypoint.spec.model import Entry, Spec

INHERIT = "inherit"  # DEEPTEMPO_CHILD_SECRETS=inherit: every child of the app inherits every secret
# uvicorn's settings, and the serve options that set them (an option wins over its variable).
SERVER_SETTINGS = ("APP_MODULE", "APP_DIR", "HOST", "PORT", "WEB_CONCURRENCY", "LOG_LEVEL", "FORWARDED_ALLOW_IPS")
PATH_ECHO_LIMIT = 200  # a path is echoed when it holds no secret, however long
SERVER_OPTIONS = {"APP_MODULE": "--app", "APP_DIR": "--app-dir", "HOST": "--host", "PORT": "--port"}


class ValidationFailed(ConfigError):
    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(f"{sum(f.is_error for f in findings)} configuration error(s)")
        self.findings = findings


# __slots__, not a dataclass, on the start-up path: see deeptempo_entrypoint.findings.
class Launch:
    __slots__ = ("argv", "environment", "findings", "scope", "files", "spec", "address")

    def __init__(self, argv: list[str], environment: dict[str, str], findings: list[Finding],
                 scope: Scope | None = None, files: dict[str, str] | None = None, spec: Spec | None = None,
                 address: tuple[str, str] = ("", "")) -> None:
        self.argv = argv
        self.environment = environment
        self.findings = findings
        self.scope = scope  # the secrets no child of the app inherits (None: every child inherits all)
        self.files = files or {}  # file-delivered secrets -> their files, followed while serving
        self.spec = spec
        self.address = address  # where uvicorn will listen, for the health probe (deeptempo_entrypoint.served_address)

    def __repr__(self) -> str:  # the environment holds secrets: show its keys only
        return f"Launch(argv={self.argv!r}, environment_keys={sorted(self.environment)})"


def load_spec_reporting(spec_path: str | None) -> tuple[Spec | None, list[Finding]]:
    """(the spec, []) or, when it cannot be used, (None, one finding per problem), so that `check
    --json` reports a broken spec in the same document as everything else."""
    from deeptempo_entrypoint.spec import load_spec

    try:
        return load_spec(spec_path), []
    except SpecError as exc:
        return None, [Finding(None, ERROR, problem) for problem in exc.problems]


def check_configuration(spec: Spec | None, environ: MutableMapping[str, str] | None = None,
                        env_file: str | None = None) -> tuple[Resolution, list[Finding]]:
    """What `check` and `status` report: the resolution and every finding (a spec of None: nothing)."""
    if spec is None:
        return Resolution({}, {}, [], set()), []
    resolution = resolve(spec, deployment_sources(process_environ(environ), env_file))
    return resolution, validate(spec, resolution)


def prepare_serve(spec: Spec, options: Mapping[str, Any], uvicorn_args: Sequence[str] = (),
                  environ: MutableMapping[str, str] | None = None, env_file: str | None = None) -> Launch:
    from deeptempo_entrypoint.backend_policy import serve_backend_findings, serve_settings

    environ = process_environ(environ)
    # uvicorn's own options after `--` that set a setting count as that setting's option: validated, and
    # seen by the APP_MODULE pre-check and the health check as uvicorn will use them.
    given, uvicorn_args = uvicorn_settings(uvicorn_args)
    options = {**given, **{name: value for name, value in options.items() if value is not None}}
    # serve refuses the keyring unless allowed: it is not even touched then (a keyring that hangs or
    # fails cannot delay or break a start it would refuse anyway).
    allowed = is_true(environ.get(ALLOW_PERSISTENT_BACKEND_VARIABLE))
    from_uvicorn = {name: f"-- {flag}" for flag, name in UVICORN_OPTIONS.items() if name in given}
    option_names = {**SERVER_OPTIONS, **{name: label for name, label in from_uvicorn.items()
                                         if options.get(name) == given.get(name)}}
    resolution = resolve(spec, deployment_sources(environ, env_file, OptionsSource(options, option_names),
                                                  keyring=None if allowed else False))
    findings = validate(spec, resolution) + _unlisted_server_setting_findings(spec, resolution)
    findings += serve_backend_findings(resolution)
    settings = {name: resolution.value(name) or _default(spec, name) for name in SERVER_SETTINGS}
    if not has_errors(findings):
        findings += app_module_findings(settings, environ)
    if has_errors(findings):
        raise ValidationFailed(findings)
    backend_settings = serve_settings(resolution)
    defaulted = [name for name in backend_settings if resolution.value(name) is None]
    environment = program_environment(environ, resolution, defaulted)
    environment.update(backend_settings)
    scope = None
    if (environ.get(CHILD_SECRETS_VARIABLE) or "").strip().lower() != INHERIT:
        from deeptempo_entrypoint.children import scope_for

        scope = scope_for(spec, resolution.secrets)
    files = resolution.files(entry.name for entry in spec.secrets)
    return Launch(uvicorn_argv(settings, uvicorn_args), environment, findings, scope, files, spec,
                  _served_address(settings, uvicorn_args))


def prepare_exec(spec: Spec, command: Sequence[str], environ: MutableMapping[str, str] | None = None,
                 env_file: str | None = None) -> Launch:
    """Pass-through (`docker run IMAGE sh`): secrets loaded, nothing validated, problems only reported."""
    environ = process_environ(environ)
    resolution = resolve(spec, deployment_sources(environ, env_file))
    return Launch(list(command), program_environment(environ, resolution), resolution.findings)


def program_environment(environ: MutableMapping[str, str], resolution: Resolution,
                        defaulted: Iterable[str] = ()) -> dict[str, str]:
    import json

    environment = {key: value for key, value in environ.items() if key not in resolution.unset}
    environment.update(resolution.environment())
    sources = {**resolution.sources(), **dict.fromkeys(defaulted, DEFAULT_LABEL)}
    environment[SOURCES_VARIABLE] = json.dumps(sources, sort_keys=True)
    return environment


def _builtin_entry(name: str) -> Entry:
    from deeptempo_entrypoint.spec import builtin_spec

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
            reason = value_problem(_builtin_entry(name), value, spec)
            if reason:
                findings.append(Finding(name, ERROR, reason))
    return findings


def app_module_findings(settings: Mapping[str, Any], environ: MutableMapping[str, str]) -> list[Finding]:
    """APP_MODULE's module must be findable where uvicorn will look (APP_DIR, PYTHONPATH, the installed
    packages), found without importing it: importing the app is uvicorn's job, after the exec."""
    module = settings["APP_MODULE"].partition(":")[0]
    app_dir = os.path.abspath(settings["APP_DIR"] or ".")
    echoed = safe_to_echo(app_dir, limit=PATH_ECHO_LIMIT)
    shown_dir = f" ({app_dir})" if echoed else ""
    if settings["APP_DIR"] and not os.path.isdir(app_dir):
        where = f"directory {app_dir}:" if echoed else "the directory it names"
        return [Finding("APP_DIR", ERROR, f"{where} does not exist")]
    search = [app_dir, *filter(None, (environ.get("PYTHONPATH") or "").split(os.pathsep)), *filter(None, sys.path)]
    if module_findable(module, search):
        return []
    shown = f"module {module}" if safe_to_echo(module) else "its module"
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
    from importlib.machinery import PathFinder

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


# uvicorn's options that set one of its settings (`uvicorn --help`), each taking a value.
UVICORN_OPTIONS = {"--app-dir": "APP_DIR", "--host": "HOST", "--port": "PORT", "--workers": "WEB_CONCURRENCY",
                   "--log-level": "LOG_LEVEL", "--forwarded-allow-ips": "FORWARDED_ALLOW_IPS"}


def uvicorn_settings(arguments: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """({setting: value} from uvicorn's own options, the other arguments): `--port 8000` and
    `--port=8000` alike; uvicorn_argv passes the settings back to uvicorn, once."""
    settings: dict[str, str] = {}
    rest: list[str] = []
    index = 0
    while index < len(arguments):
        flag, equals, value = arguments[index].partition("=")
        if flag in UVICORN_OPTIONS and (equals or index + 1 < len(arguments)):
            if not equals:
                index += 1
                value = arguments[index]
            settings[UVICORN_OPTIONS[flag]] = value
        else:
            rest.append(arguments[index])
        index += 1
    return settings, rest


# The limits of a service behind a platform (README.md, "Serve"): uvicorn's options after `--` override
# each one (the last of an option wins), DEEPTEMPO_REQUEST_HEAD_TIMEOUT the request-head deadline.
SERVER_LIMITS = ("--http", "deeptempo_entrypoint.worker:BoundedH11Protocol",  # a deadline for a connection's first request
                 "--limit-concurrency", "1000",  # connections and tasks; beyond it a request gets 503
                 "--timeout-keep-alive", "5",  # seconds an idle keep-alive connection is kept
                 "--h11-max-incomplete-event-size", "65536")  # bytes of a request head


def uvicorn_argv(settings: Mapping[str, Any], extra: Sequence[str] = ()) -> list[str]:
    """uvicorn's command line: settings only; secrets travel in the environment, never on argv."""
    argv = [sys.executable, "-m", "uvicorn", settings["APP_MODULE"], "--host", settings["HOST"],
            "--port", str(settings["PORT"]), "--workers", str(settings["WEB_CONCURRENCY"]),
            "--log-level", settings["LOG_LEVEL"], *SERVER_LIMITS]
    if settings.get("APP_DIR"):
        argv += ["--app-dir", settings["APP_DIR"]]
    if settings.get("FORWARDED_ALLOW_IPS"):
        argv += ["--proxy-headers", "--forwarded-allow-ips", settings["FORWARDED_ALLOW_IPS"]]
    return argv + list(extra)


def serve_in_process(launch: Launch) -> None:
    """Hand over to uvicorn's own command line in this process: the same PID (the platform's signals
    reach uvicorn directly, no wrapper stays behind), without starting a second interpreter, so a
    container answers as soon as bare uvicorn would. The environment becomes exactly the one an exec
    would have given to the app. Then the secrets are kept from the app's children (deeptempo_entrypoint.children),
    handed to its own workers (deeptempo_entrypoint.handoff), and followed in their files (deeptempo_entrypoint.rotation)."""
    os.environ.clear()
    os.environ.update(launch.environment)
    if launch.scope is not None:
        from deeptempo_entrypoint.children import keep_from_children
        from deeptempo_entrypoint.handoff import write_handoff

        handoff = write_handoff({name: launch.environment[name] for name in launch.scope.kept}, launch.scope,
                                launch.files, launch.spec.origin if launch.spec else None)
        if handoff:
            os.environ[HANDOFF_VARIABLE] = handoff
        keep_from_children(launch.scope)
    if launch.files:
        from deeptempo_entrypoint.rotation import start_following

        start_following(launch.files, launch.scope, launch.spec)
    from deeptempo_entrypoint.served_address import write_served_address

    write_served_address(*launch.address)
    for entry in reversed([e for e in launch.environment.get("PYTHONPATH", "").split(os.pathsep) if e]):
        if entry not in sys.path:  # an exec'd interpreter would have read it at start
            sys.path.insert(0, entry)
    sys.stdout.flush()
    sys.stderr.flush()
    from uvicorn.main import main as uvicorn_command

    uvicorn_command.main(args=launch.argv[3:], prog_name="uvicorn")  # exits with uvicorn's own code


def _served_address(settings: Mapping[str, Any], uvicorn_args: Sequence[str]) -> tuple[str, str]:
    """Where uvicorn will listen: a unix socket (`-- --uds PATH`) or an inherited descriptor (`-- --fd N`)
    instead of HOST and PORT when given (uvicorn's own options the settings do not cover)."""
    uds, descriptor = _option(uvicorn_args, "--uds"), _option(uvicorn_args, "--fd")
    if uds:
        return "unix", uds
    if descriptor:
        return "fd", descriptor
    return str(settings["HOST"]), str(settings["PORT"])


def _option(argv: Sequence[str], name: str) -> str | None:
    """The last value of `name` on uvicorn's command line (as `--name v` or `--name=v`)."""
    found = None
    for index, word in enumerate(argv):
        if word == name and index + 1 < len(argv):
            found = argv[index + 1]
        elif word.startswith(name + "="):
            found = word.split("=", 1)[1]
    return found


def replace_process(launch: Launch) -> None:
    """exec: the program takes over this PID, so it receives the platform's signals directly."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(launch.argv[0], launch.argv, launch.environment)
