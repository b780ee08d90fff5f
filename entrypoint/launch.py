"""The actions at the end of the one-way flow: sources -> resolution -> validation -> exec.

`prepare_serve` and `prepare_exec` return what to exec (argv, environment) or raise ValidationFailed;
`replace_process` execs it, so the PID stays and no wrapper process remains."""

import os
import sys

from entrypoint.constants import SOURCES_VARIABLE
from entrypoint.errors import ConfigError
from entrypoint.findings import has_errors
from entrypoint.resolution import resolve
from entrypoint.sources.chains import deployment_sources, process_environ
from entrypoint.validation import validate


class ValidationFailed(ConfigError):
    def __init__(self, findings):
        super().__init__(f"{sum(f.is_error for f in findings)} configuration error(s)")
        self.findings = findings


class Launch:
    __slots__ = ("argv", "environment", "findings")

    def __init__(self, argv, environment, findings):
        self.argv = argv
        self.environment = environment
        self.findings = findings

    def __repr__(self):  # the environment holds secrets: show its keys only
        return f"Launch(argv={self.argv!r}, environment_keys={sorted(self.environment)})"


def check_configuration(spec, environ=None, env_file=None):
    """What `check` and `status` report: the resolution and every finding."""
    resolution = resolve(spec, deployment_sources(process_environ(environ), env_file))
    return resolution, validate(spec, resolution)


def prepare_serve(spec, options, uvicorn_args=(), environ=None, env_file=None):
    from entrypoint.backend_policy import serve_backend_findings, serve_settings

    environ = process_environ(environ)
    resolution = resolve(spec, deployment_sources(environ, env_file))
    findings = validate(spec, resolution) + serve_backend_findings(resolution)
    if has_errors(findings):
        raise ValidationFailed(findings)
    environment = program_environment(environ, resolution)
    environment.update(serve_settings(resolution))
    settings = {name: options.get(name) or resolution.value(name) or _default(spec, name) for name in _SERVER_SETTINGS}
    return Launch(uvicorn_argv(settings, uvicorn_args), environment, findings)


def prepare_exec(spec, command, environ=None, env_file=None):
    """Pass-through (`docker run IMAGE sh`): secrets loaded, nothing validated, problems only reported."""
    environ = process_environ(environ)
    resolution = resolve(spec, deployment_sources(environ, env_file))
    return Launch(list(command), program_environment(environ, resolution), resolution.findings)


def program_environment(environ, resolution):
    import json

    environment = {key: value for key, value in environ.items() if key not in resolution.unset}
    environment.update(resolution.environment())
    environment[SOURCES_VARIABLE] = json.dumps(resolution.sources(), sort_keys=True)
    return environment


_SERVER_SETTINGS = ("APP_MODULE", "HOST", "PORT", "WEB_CONCURRENCY", "LOG_LEVEL", "FORWARDED_ALLOW_IPS")


def _default(spec, name):
    entry = spec.by_name.get(name)
    if entry is None:  # a user's own spec may leave the server settings out
        from entrypoint.spec import builtin_spec

        entry = builtin_spec().by_name[name]
    return entry.default


def uvicorn_argv(settings, extra=()):
    """uvicorn's command line: settings only; secrets travel in the environment, never on argv."""
    argv = [sys.executable, "-m", "uvicorn", settings["APP_MODULE"], "--host", settings["HOST"],
            "--port", str(settings["PORT"]), "--workers", str(settings["WEB_CONCURRENCY"]),
            "--log-level", settings["LOG_LEVEL"]]
    if settings.get("FORWARDED_ALLOW_IPS"):
        argv += ["--proxy-headers", "--forwarded-allow-ips", settings["FORWARDED_ALLOW_IPS"]]
    return argv + list(extra)


def replace_process(launch):
    """exec: the program takes over this PID, so it receives the platform's signals directly."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(launch.argv[0], launch.argv, launch.environment)
