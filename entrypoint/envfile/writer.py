"""Updating a .env file safely: 0600 from the first byte, atomic replace, an exclusive lock against
concurrent writers, every line it does not own kept as it was."""


from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING

from entrypoint.envfile.reader import VALID_NAME, parse_bindings
from entrypoint.errors import EnvFileError
from entrypoint.textfile import read_text
from entrypoint.trust import make_private_dirs

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

_UNQUOTED_UNSAFE = re.compile(r"[\r\n]|^\s|\s$|\s#|^['\"]")


def update_env_file(path: str, changes: Mapping[str, str | None]) -> None:
    """Set (a str) or remove (None) each key of `changes` in the .env file at `path`."""
    for key, value in changes.items():
        _check_assignment(key, value)
    path = os.path.realpath(os.fspath(path))  # a link is kept: the write goes through to its target
    make_private_dirs(os.path.dirname(path))
    with _exclusive_lock(path):
        existing = read_text(path, error=EnvFileError, what="env-file") if os.path.exists(path) else ""
        _replace_atomically(path, render(existing, changes, path))


def render(existing: str, changes: Mapping[str, str | None], path: str = "<text>") -> str:
    newline = "\r\n" if "\r\n" in existing else "\n"
    pending = dict(changes)
    parts = []
    for binding in parse_bindings(existing, path):
        original = binding.original.string
        if binding.key not in changes:
            parts.append(original)
            continue
        prefix = original[: len(original) - len(original.lstrip())]
        if binding.key in pending and pending[binding.key] is not None:
            parts.append(prefix + format_line(binding.key, pending.pop(binding.key) or "") + newline)
        else:  # removed, or a later duplicate of a key already written: drop it so ours wins
            pending.pop(binding.key, None)
            parts.append(prefix)
    text = "".join(parts)
    additions = [format_line(key, value) + newline for key, value in pending.items() if value is not None]
    if additions and text and not text.endswith(("\n", "\r")):
        text += newline
    return text + "".join(additions)


def format_line(key: str, value: str) -> str:
    return f"{key}={encode_value(key, value)}"


def encode_value(key: str, value: str) -> str:
    """The form python-dotenv reads back to exactly `value`: bare when it can be (Docker's --env-file,
    Compose, systemd and Kustomize keep quotes literally, so a bare value means the same to all of
    them), else double-quoted with escapes."""
    if not _UNQUOTED_UNSAFE.search(value):
        return value
    if not value.endswith("\\"):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        return f'"{escaped}"'
    # dotenv reads a quoted value's last backslash plus the closing quote as an escaped quote, so a
    # value ending in a backslash is only representable bare.
    raise ValueError(
        f"{key}: python-dotenv cannot read back a value that ends with a backslash and also spans "
        "lines, starts with a quote, has surrounding white space or a ' #'"
    )


def _check_assignment(key: str, value: str | None) -> None:
    if not isinstance(key, str) or not VALID_NAME.fullmatch(key):
        raise ValueError("a secret's name must be a valid variable name (letters, digits, _)")
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(f"{key}: a secret's value must be a str")
    if "\0" in value:
        raise ValueError(f"{key}: a secret's value cannot contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{key}: a secret's value must be valid Unicode text") from None
    encode_value(key, value)


@contextmanager
def _exclusive_lock(path: str) -> Iterator[None]:
    # A sidecar lock file: the .env itself is replaced by rename, so a lock on it would not hold.
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _replace_atomically(path: str, text: str) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    # Copies of the secrets an interrupted writer left (any PID: we hold the lock, none is writing).
    directory, prefix = os.path.split(path)
    for name in os.listdir(directory or "."):
        if name.startswith(prefix + ".") and name.endswith(".tmp") and name[len(prefix) + 1:-4].isdigit():
            os.unlink(os.path.join(directory, name))
    # O_EXCL with mode 0600: the file is never readable by others, not even for an instant.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temporary)
        raise
    os.close(fd)
    os.replace(temporary, path)
    directory_fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)
