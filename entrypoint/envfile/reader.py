"""Parsing an env-file the way python-dotenv does, strictly: CRLF, a BOM and `export` lines are read;
a line that cannot be parsed is an error naming the file and the line, never quoting it."""

import io
import re

from entrypoint.errors import EnvFileError
from entrypoint.textfile import read_text

VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class EnvFile:
    """The values of one env-file, plus what a user should hear about it (warnings name keys)."""

    def __init__(self, path, values, warnings):
        self.path = path
        self.values = values
        self.warnings = warnings

    def __repr__(self):
        return f"EnvFile({self.path!r}, keys={sorted(self.values)})"


def read_env_file(path):
    return parse_env_text(read_text(path, error=EnvFileError, what="env-file"), path)


def parse_env_text(text, path):
    values, first_line, warnings = {}, {}, []
    for binding in parse_bindings(text, path):
        key, line = binding.key, binding.original.line
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
    return EnvFile(path, values, warnings)


def parse_bindings(text, path):
    """python-dotenv's bindings, after refusing what it would silently skip or mangle."""
    from dotenv.parser import parse_stream

    bindings = list(parse_stream(io.StringIO(text)))
    for binding in bindings:
        line = binding.original.line + _leading_newlines(binding.original.string)
        if binding.error:
            raise EnvFileError(f"env-file {path}: line {line} is not a NAME=value line")
        if binding.key is not None and not VALID_NAME.fullmatch(binding.key):
            raise EnvFileError(f"env-file {path}: line {line} does not start with a valid variable name")
    return bindings


def _leading_newlines(original):
    # dotenv counts a binding from the blank lines before it; users count from the line itself.
    stripped = original.lstrip()
    return original[: len(original) - len(stripped)].count("\n") if stripped else 0
