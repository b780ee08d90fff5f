"""Parsing an env-file the way python-dotenv does, strictly: CRLF, a BOM and `export` lines are read;
a line that cannot be parsed is an error naming the file and the line, never quoting it."""


import io
import re
from collections.abc import Iterable
from typing import Any

from deeptempo_entrypoint.errors import EnvFileError
from deeptempo_entrypoint.textfile import read_text

VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# A __slots__ class on the start-up path: see deeptempo_entrypoint.spec.model.Entry.
class EnvFile:
    """The values of one env-file, what a user should hear about it (warnings name keys), and the lines
    that could not be read (`errors`, every one of them, each naming the file and the line)."""

    __slots__ = ("path", "values", "warnings", "errors")

    def __init__(self, path: str, values: dict[str, str | None], warnings: list[tuple[str | None, str]],
                 errors: Iterable[str] = ()) -> None:
        self.path = path
        self.values = values  # every assigned key, an empty value included
        self.warnings = warnings
        self.errors = list(errors)

    def __repr__(self) -> str:
        return f"EnvFile({self.path!r}, keys={sorted(self.values)})"


def read_env_file(path: str, strict: bool = True) -> EnvFile:
    """The file's values. Strict: a bad line raises EnvFileError naming every bad line; otherwise
    they are listed in `errors` and the good lines still count."""
    env_file = parse_env_text(read_text(path, error=EnvFileError, what="env-file"), path)
    if strict and env_file.errors:
        raise EnvFileError("; ".join(env_file.errors))
    return env_file


def parse_env_text(text: str, path: str) -> EnvFile:
    # Here, not at the top: python-dotenv's parser (measured: 12 ms) is paid only where an env-file is read.
    from dotenv.parser import parse_stream

    values: dict[str, str | None] = {}
    first_line: dict[str, int] = {}
    warnings: list[tuple[str | None, str]] = []
    errors: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        error = binding_error(binding, path)
        if error:
            errors.append(error)
            continue
        key, line = binding.key, user_line(binding)
        if key is None:
            continue
        if binding.value is None:
            # Either a bare NAME (dotenv's "unset") or a pasted value with no NAME=: don't echo it.
            warnings.append((None, f"line {line} has no '=' and is ignored"))
            continue
        if key in first_line:
            warnings.append((key, f"is set twice (lines {first_line[key]} and {line}); line {line} wins"))
        first_line[key] = line
        values[key] = binding.value
    return EnvFile(path, values, warnings, errors)


def parse_bindings(text: str, path: str) -> list[Any]:
    """python-dotenv's bindings, after refusing what it would silently skip or mangle (the first bad line)."""
    from dotenv.parser import parse_stream  # as in parse_env_text

    bindings = list(parse_stream(io.StringIO(text)))
    for binding in bindings:
        error = binding_error(binding, path)
        if error:
            raise EnvFileError(error)
    return bindings


def binding_error(binding: Any, path: str) -> str | None:
    """Why a binding cannot be used, naming the file and line and never quoting it; None when fine."""
    if binding.error:
        return f"env-file {path}: line {user_line(binding)} is not a NAME=value line"
    if binding.key is not None and not VALID_NAME.fullmatch(binding.key):
        return f"env-file {path}: line {user_line(binding)} does not start with a valid variable name"
    return None


def user_line(binding: Any) -> int:
    # dotenv counts a binding from the blank lines before it; users count from the line itself.
    original = binding.original.string
    stripped = original.lstrip()
    return int(binding.original.line) + (original[: len(original) - len(stripped)].count("\n") if stripped else 0)
