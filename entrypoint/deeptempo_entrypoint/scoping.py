"""Secrets kept from the processes the app starts, whatever its code does.

The served app reads every secret in `os.environ`, Python's mapping; the C environment, which children
inherit, holds none of the spec's secrets. An audit hook (PEP 578, `sys.addaudithook`) sees every start
through Python's process APIs before it happens, and keeps it so:

- `subprocess` (and so `asyncio`'s subprocesses, `os.popen`) with the inherited environment: the C
  environment holds no kept secret (unset again before every start);
- `subprocess` with an explicit environment (`env=os.environ.copy()`, `env={**os.environ, ...}`): every
  secret the started program is not allowed is removed from that mapping, by name and by value (the
  caller's own dict loses it; `os.environ` itself passed as `env` is refused instead);
- `os.exec*`, `os.posix_spawn*`, `os.spawn*` with an explicit environment (already converted when the
  hook runs): a start whose environment holds a secret the program is not allowed is refused
  (PermissionError naming the secret and the program); `os.system`, `os.fork`, `os.exec*` without one:
  the C environment, as above;
- the app writing a secret into `os.environ` (the DeepTempo backend does, for GITHUB_TOKEN and
  POSTGRESQL_CONNECTION_STRING; so does `set_secret`): the name leaves the C environment as soon as the
  write returns, so even a start that raises no audit event (multiprocessing's spawn and forkserver
  start methods) inherits none;
- a secret's value on a started program's command line is reported, by secret and program (never the
  value): anyone on the machine reads a command line.

A secret whose spec entry says `children: [program, ...]` stays in an explicit environment given to
those programs; a start with the inherited environment gives them none (there is none to inherit).
`children: all` keeps the secret in the C environment: every child inherits it. Processes started by C
code (a library's own fork and exec) are outside what an audit hook sees; they inherit the C environment,
which holds no kept secret."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from deeptempo_entrypoint.spec.model import Spec

MIN_VALUE_LENGTH = 4  # shorter values are not searched for in environments and command lines
# The audit events of a process start (and of a write to the C environment), by the position of their
# environment argument (None: the event has none).
STARTS = {"subprocess.Popen": 3, "os.exec": 2, "os.posix_spawn": 2, "os.spawn": 3, "os.system": None,
          "os.fork": None, "os.forkpty": None}
CHECK_EVENT = "deeptempo.scoping-check"  # raised once by install(): the hook proves it is called
_log = logging.getLogger("deeptempo_entrypoint.scoping")


@dataclass
class Scope:
    """The secrets no child of the app inherits: `names` (every name they are known by), `programs`
    (program -> the secret names it may be given), and the values the served process holds (learned
    again whenever the app writes one), which are looked for in environments and command lines."""

    names: frozenset[str]
    programs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    reported: set[tuple[str, str]] = field(default_factory=set)
    hooked: bool = False  # the audit hook has been seen working

    def __repr__(self) -> str:  # the values stay out of it
        return f"Scope(names={sorted(self.names)}, programs={dict(self.programs)})"

    def allowed(self, program: str) -> frozenset[str]:
        return self.programs.get(program, frozenset())


def scope_for(spec: Spec, environment: Mapping[str, str]) -> Scope:
    """Every secret name of the spec (aliases too) but those whose entry lets every child have it, with
    the values `environment` holds for them."""
    names: set[str] = set()
    programs: dict[str, set[str]] = {}
    for entry in spec.secrets:
        if entry.children == "all":
            continue
        names.update(entry.lookup_names)
        for program in entry.children:
            programs.setdefault(program, set()).update(entry.lookup_names)
    values = {name: environment[name] for name in names if len(environment.get(name) or "") >= MIN_VALUE_LENGTH}
    return Scope(frozenset(names), {program: frozenset(allowed) for program, allowed in programs.items()}, values)


def clean_c_environment(scope: Scope) -> None:
    """Unset every kept name in the C environment (os.environ keeps them)."""
    for name in scope.names:
        os.unsetenv(name)


def program_of(event: str, args: tuple[Any, ...]) -> str:
    """The basename of the program a start runs (for a shell command line, its first word)."""
    if event == "os.system":
        return _first_word(os.fsdecode(args[0]))
    if event == "subprocess.Popen":
        executable, argv = args[0], args[1]
        words = [os.fsdecode(word) for word in argv] if isinstance(argv, list) else [os.fsdecode(argv)]
        if len(words) >= 3 and words[1] == "-c" and os.path.basename(words[0]) in ("sh", "bash", "dash"):
            return _first_word(words[2])
        return os.path.basename(os.fsdecode(executable if executable is not None else words[0]))
    if event in ("os.exec", "os.posix_spawn"):
        return os.path.basename(os.fsdecode(args[0]))
    if event == "os.spawn":
        return os.path.basename(os.fsdecode(args[1]))
    return ""


def _first_word(command: str) -> str:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return os.path.basename(next((word for word in words if "=" not in word), ""))


def _command_line(event: str, args: tuple[Any, ...]) -> list[str]:
    if event == "os.system":
        return [os.fsdecode(args[0])]
    argv = args[2] if event == "os.spawn" else args[1]
    if isinstance(argv, (str, bytes)):
        return [os.fsdecode(argv)]
    try:
        return [os.fsdecode(word) for word in argv]
    except TypeError:
        return []


def forbidden_in(environment: Mapping[Any, Any], scope: Scope, allowed: frozenset[str]) -> dict[Any, str]:
    """The keys of `environment` that hold a kept secret the program may not have: key -> the secret."""
    found: dict[Any, str] = {}
    for key, value in environment.items():
        name = os.fsdecode(key)
        if name in scope.names and name not in allowed:
            found[key] = name
            continue
        text = os.fsdecode(value) if isinstance(value, (str, bytes)) else ""
        held = next((secret for secret, secret_value in scope.values.items()
                     if secret not in allowed and secret_value in text), None)
        if held:
            found[key] = held
    return found


def _report_command_line(scope: Scope, program: str, words: Iterable[str]) -> None:
    for secret, value in scope.values.items():
        if (secret, program) not in scope.reported and any(value in word for word in words):
            scope.reported.add((secret, program))
            _log.warning("%s is on the command line of %s, where any user of the machine can read it (ps): "
                         "pass it in the program's environment or a file instead", secret, program)


def _unset_when_the_write_returns(name: str) -> None:
    """os.environ[name] = value calls putenv, which raised the event we are in: the name leaves the C
    environment at the next profile event of this thread (the write returning), before any start."""
    previous = sys.getprofile()

    def once(frame: FrameType, event: str, arg: Any) -> None:
        sys.setprofile(previous)
        os.unsetenv(name)

    sys.setprofile(once)


def audit_hook(scope: Scope) -> Any:
    """The hook: fast for the many events that are no start (one set lookup)."""
    watched = frozenset(STARTS) | {"os.putenv", CHECK_EVENT}

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in watched:
            return
        if event == CHECK_EVENT:
            scope.hooked = True
            return
        if event == "os.putenv":
            name = os.fsdecode(args[0])
            if name in scope.names:
                value = os.fsdecode(args[1])
                if len(value) >= MIN_VALUE_LENGTH:
                    scope.values[name] = value
                _unset_when_the_write_returns(name)
            return
        clean_c_environment(scope)
        if event in ("os.fork", "os.forkpty"):
            return
        program = program_of(event, args)
        _report_command_line(scope, program, _command_line(event, args))
        position = STARTS[event]
        environment = args[position] if position is not None else None
        if environment is None:
            return
        forbidden = forbidden_in(environment, scope, scope.allowed(program))
        if not forbidden:
            return
        if event == "subprocess.Popen" and isinstance(environment, MutableMapping) and environment is not os.environ:
            for key in forbidden:
                del environment[key]
            return
        secret = sorted(set(forbidden.values()))[0]
        raise PermissionError(f"deeptempo-entrypoint: refusing to start {program or 'a program'}: its environment holds "
                              f"{secret}, which the secrets spec does not give it (children:). Start it with the inherited "
                              "environment, or with a copy of os.environ (the kit removes what it may not have)")

    return hook


def install(scope: Scope) -> None:
    """Keep `scope`'s secrets from every child of this process, for the rest of its life (an audit hook
    cannot be removed). Refuses, by raising RuntimeError, where the hook does not see events."""
    clean_c_environment(scope)
    sys.addaudithook(audit_hook(scope))
    sys.audit(CHECK_EVENT)
    if not scope.hooked:
        raise RuntimeError("this Python does not call audit hooks: the secrets cannot be kept from the app's children")
