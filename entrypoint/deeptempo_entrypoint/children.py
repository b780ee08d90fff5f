"""Secrets kept from the processes the app starts.

`os.environ` is a Python mapping over the C environment: setting a key also calls putenv(), and
`os.unsetenv()` removes a name from the C environment only. Every way of starting a program with the
default environment (`subprocess` without `env=`, `asyncio`'s subprocesses, `os.system`, `os.exec*`
without an `e`, `multiprocessing`'s spawn) hands the child the C environment. So the served process
keeps each secret in `os.environ`, where the app reads it, and unsets it below: no child inherits it.

A secret the spec gives `children: all` stays in the C environment. One given `children: [git, ...]`
is added to the environment of those programs when they are started through `subprocess` (and so
`asyncio`); `os.system` and `os.exec*` cannot be reached that way and give them none. A program
started with an explicit copy of `os.environ` (`env={**os.environ, ...}`) receives what it is given."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from deeptempo_entrypoint.spec.model import Spec

INHERIT = "inherit"  # DEEPTEMPO_CHILD_SECRETS=inherit: the opt-out
# Popen._execute_child(self, args, executable, preexec_fn, close_fds, pass_fds, cwd, env, startupinfo,
# creationflags, shell, ...): the positions of env and shell after args and executable.
_ENV_POSITION, _SHELL_POSITION = 4, 7


class Scope:
    """Which secrets no child inherits (`kept`), and which programs still get some (`programs`)."""

    __slots__ = ("kept", "programs")

    def __init__(self, kept: Iterable[str], programs: Mapping[str, Iterable[str]]) -> None:
        self.kept = tuple(sorted(kept))
        self.programs = {program: tuple(sorted(names)) for program, names in programs.items()}

    def as_dict(self) -> dict[str, Any]:
        return {"kept": list(self.kept), "programs": self.programs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scope:
        return cls(data.get("kept", ()), data.get("programs", {}))

    def __repr__(self) -> str:
        return f"Scope(kept={list(self.kept)}, programs={self.programs})"


def scope_for(spec: Spec, present: Iterable[str]) -> Scope:
    """The spec's secrets among `present` that children must not inherit, by their allow-lists."""
    present = set(present)
    kept: list[str] = []
    programs: dict[str, list[str]] = {}
    for entry in spec:
        if not entry.is_secret or entry.name not in present or entry.children == "all":
            continue
        kept.append(entry.name)
        for program in entry.children:
            programs.setdefault(program, []).append(entry.name)
    return Scope(kept, programs)


def keep_from_children(scope: Scope) -> None:
    """Unset the kept secrets in the C environment (os.environ keeps them) and make subprocess follow."""
    for name in scope.kept:
        os.unsetenv(name)
    # Popen's posix_spawn path (close_fds=False) passes os.environ itself when env is None: turn it off,
    # so every Popen goes through fork_exec, which hands down the C environment.
    subprocess._USE_POSIX_SPAWN = False  # type: ignore[misc]
    if scope.programs:
        _give_programs_their_secrets(scope)


def program_name(args: Any, executable: Any, shell: bool) -> str:
    """The basename of the program a Popen starts (for a shell command line, its first word)."""
    if shell:
        command = args if isinstance(args, (str, bytes)) else args[0]
        command = os.fsdecode(command)
        import shlex  # only where a spec allows a secret to a program

        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        first = next((word for word in words if "=" not in word), "")
    else:
        first = os.fsdecode(executable) if executable else os.fsdecode(args if isinstance(args, (str, bytes)) else args[0])
    return os.path.basename(first)


def _give_programs_their_secrets(scope: Scope) -> None:
    original = subprocess.Popen._execute_child  # type: ignore[attr-defined]
    if getattr(original, "_deeptempo_scoped", False):
        return

    def execute_child(self: subprocess.Popen[Any], args: Any, executable: Any, *rest: Any) -> Any:
        rest_list = list(rest)
        names = scope.programs.get(program_name(args, executable, bool(rest_list[_SHELL_POSITION])), ())
        if names and rest_list[_ENV_POSITION] is None:
            inherited = {key: value for key, value in os.environ.items() if key not in scope.kept}
            rest_list[_ENV_POSITION] = {**inherited, **{name: os.environ[name] for name in names if name in os.environ}}
        return original(self, args, executable, *rest_list)

    execute_child._deeptempo_scoped = True  # type: ignore[attr-defined]
    subprocess.Popen._execute_child = execute_child  # type: ignore[attr-defined]

