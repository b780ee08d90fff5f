"""uvicorn's own options after `serve --`, read by the installed uvicorn's own command line and turned
into keyword arguments of `uvicorn.Config`.

serve builds uvicorn's Config and Server itself, through their documented interface, instead of running
uvicorn's command line: the command line starts uvicorn's own worker supervisor, and the releases the
DeepTempo backend's dependencies force (0.34, 0.35) refuse a protocol class for `--http` there. Parsing
still goes through uvicorn's click command, so every option, type, choice and default is the installed
uvicorn's own; only environment variables are not read for them (`UVICORN_*`, `WEB_CONCURRENCY`): the
settings are serve's, validated like secrets."""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click
import uvicorn
from click.core import ParameterSource
from uvicorn.main import main as uvicorn_command

from deeptempo_entrypoint.echo import safe_to_echo
from deeptempo_entrypoint.errors import ConfigError

# uvicorn's options that set one of serve's settings: used as that setting, and validated like it.
SETTING_OPTIONS = {"app_dir": "APP_DIR", "host": "HOST", "port": "PORT", "workers": "WEB_CONCURRENCY",
                   "log_level": "LOG_LEVEL", "forwarded_allow_ips": "FORWARDED_ALLOW_IPS"}
# uvicorn's options serve refuses, and why (each is a finding naming the option).
REFUSED = {
    "reload": "reloads the code on every change, for development: run uvicorn itself there",
    "reload_dirs": "belongs to --reload, which serve does not do",
    "reload_includes": "belongs to --reload, which serve does not do",
    "reload_excludes": "belongs to --reload, which serve does not do",
    "reload_delay": "belongs to --reload, which serve does not do",
    "env_file": "loads a file into the environment unchecked: give it to serve (serve --env-file FILE), which validates it",
}
# What serve sets for a service behind a platform (README.md, "Limits"); the same option after `--`
# overrides each. A limit the installed uvicorn does not have is a warning, and the service serves.
LIMITS: dict[str, int] = {
    "limit_concurrency": 1000,  # connections and tasks at once; beyond it a request gets 503
    "timeout_keep_alive": 5,  # seconds an idle keep-alive connection is kept
    "h11_max_incomplete_event_size": 65536,  # bytes of a request head
}
APP_PLACEHOLDER = "deeptempo-app:placeholder"  # uvicorn's command takes the app first; serve's is APP_MODULE


@dataclass
class UvicornOptions:
    """What `serve -- ...` asked of uvicorn: `settings` (HOST, PORT, ... as given, strings), `config`
    (uvicorn.Config's keyword arguments for every other option given) and `flags` (each option as it
    was written, for messages: `--port`)."""

    settings: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)  # setting or Config name -> the option given


def _parser() -> click.Command:
    """uvicorn's own command, its options unchanged but for environment variables: serve reads none for
    them (WEB_CONCURRENCY, UVICORN_PORT, ...), its settings decide."""
    params = []
    for param in uvicorn_command.params:
        clone = copy.copy(param)
        clone.envvar = None
        params.append(clone)
    return click.Command("uvicorn", params=params, context_settings={"auto_envvar_prefix": None})


def config_parameters() -> frozenset[str]:
    """The keyword arguments the installed uvicorn's Config takes."""
    return frozenset(inspect.signature(uvicorn.Config).parameters) - {"self", "app"}


def parse_uvicorn_options(arguments: Sequence[str]) -> UvicornOptions:
    """uvicorn's options, as its own command line reads them; ConfigError naming the option for one it
    refuses (its message without any value that could be a secret) or that serve refuses."""
    if any(argument in ("--help", "--version") for argument in arguments):
        raise ConfigError("uvicorn's --help and --version are not options of serve: run `python -m uvicorn --help` "
                          "for uvicorn's options, `deeptempo-entrypoint serve --help` for serve's")
    try:
        context = _parser().make_context("uvicorn", [APP_PLACEHOLDER, *arguments])
    except click.UsageError as exc:
        message = exc.format_message()
        if "unexpected extra argument" in message:
            message = "takes uvicorn's options only: the app is APP_MODULE (serve --app module:attribute)"
        raise ConfigError(f"serve -- {_without_values(message)}") from None
    options = UvicornOptions()
    accepted = config_parameters()
    for param in context.command.params:
        name = param.name
        if name is None or name == "app" or context.get_parameter_source(name) != ParameterSource.COMMANDLINE:
            continue
        flag = max(param.opts, key=len) if param.opts else name
        if name in REFUSED:
            raise ConfigError(f"serve -- {flag}: {REFUSED[name]}")
        value = context.params[name]
        if name in SETTING_OPTIONS:
            options.settings[SETTING_OPTIONS[name]] = str(value)
            options.flags[SETTING_OPTIONS[name]] = flag
        elif name in accepted:
            options.config[name] = _config_value(name, value)
            options.flags[name] = flag
        # Anything else (none today) is a command-line-only option with no Config counterpart.
    return options


def _config_value(name: str, value: Any) -> Any:
    """The value uvicorn's command line gives Config for an option (its `main` does these two)."""
    if name == "headers":
        return [list(header.split(":", 1)) if isinstance(header, str) else header for header in value]
    return value


def _without_values(message: str) -> str:
    """click's message with each quoted value that could be a secret replaced (it quotes what it refuses)."""
    return re.sub(r"'([^']*)'", lambda found: found.group(0) if safe_to_echo(found.group(1)) else "(a value not shown)", message)


def limit_warnings(parameters: frozenset[str]) -> list[str]:
    """One line per limit serve sets that the installed uvicorn cannot give."""
    return [f"uvicorn {uvicorn.__version__} has no {name} setting: serving without that limit"
            for name in LIMITS if name not in parameters]


def server_config(settings: Mapping[str, Any], given: UvicornOptions, http: Any) -> dict[str, Any]:
    """uvicorn.Config's keyword arguments (without the app): serve's settings, its limits, its http
    protocol, then every other option given after `--`, which wins."""
    parameters = config_parameters()
    config: dict[str, Any] = {name: value for name, value in LIMITS.items() if name in parameters}
    config.update(host=settings["HOST"], port=int(settings["PORT"]), log_level=settings["LOG_LEVEL"], workers=1)
    if http is not None:
        config["http"] = http
    if settings.get("FORWARDED_ALLOW_IPS"):
        config.update(proxy_headers=True, forwarded_allow_ips=settings["FORWARDED_ALLOW_IPS"])
    config.update(given.config)
    return config
