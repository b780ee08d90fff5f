"""Updating a .env file safely: 0600 from the first byte, atomic replace, an exclusive lock against
concurrent writers, every line it does not own kept as it was."""


import fcntl
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from deeptempo_entrypoint.envfile.reader import VALID_NAME, parse_bindings
from deeptempo_entrypoint.errors import EnvFileError
from deeptempo_entrypoint.textfile import MAX_BYTES, read_text
from deeptempo_entrypoint.trust import make_private_dirs

_UNQUOTED_UNSAFE = re.compile(r"[\r\n]|^\s|\s$|\s#|^['\"]")
_SINGLE_QUOTE_UNSAFE = re.compile(r"['\\\r\n]")
# A line of the file that assigns one key: its export prefix and inline comment are kept on a rewrite.
_ASSIGNMENT = re.compile(r"(?P<export>\s*export\s+)?[^=\s]+\s*=\s*(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s#]*)"
                         r"(?P<comment>\s+#[^\r\n]*)?\s*")
# Who reads an env-file, and what each makes of a quoted value (README.md, "The secrets library").
_KEEP_QUOTES = "Docker's --env-file and Kustomize keep the quotes as part of the value"


def update_env_file(path: str, changes: Mapping[str, str | None]) -> list[str]:
    """Set (a str) or remove (None) each key of `changes` in the .env file at `path`. Returns warnings
    (naming keys, never values) for values other readers of the file would read differently."""
    for key, value in changes.items():
        _check_assignment(key, value)
    path = os.path.realpath(os.fspath(path))  # a link is kept: the write goes through to its target
    make_private_dirs(os.path.dirname(path))
    with _exclusive_lock(path):
        existing = read_text(path, error=EnvFileError, what="env-file") if os.path.exists(path) else ""
        text = render(existing, changes, path)
        _refuse_unreadable(text, changes)
        _replace_atomically(path, text)
    return [warning for key, value in changes.items() if value is not None
            for warning in [reader_warning(key, value)] if warning]


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
            kept = _ASSIGNMENT.fullmatch(original.lstrip())
            export = "export " if kept and kept["export"] else ""
            comment = kept["comment"] if kept and kept["comment"] else ""
            parts.append(prefix + export + format_line(binding.key, pending.pop(binding.key) or "") + comment + newline)
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
    """The form python-dotenv reads back to exactly `value`: bare when every reader of the file reads it
    the same (Docker's --env-file, Compose, systemd and Kustomize keep quotes literally); single-quoted
    when it holds a `$` (Compose and load_dotenv would expand it bare; nobody expands in single quotes);
    else double-quoted with escapes. `reader_warning` says who reads a quoted one differently."""
    if not _UNQUOTED_UNSAFE.search(value) and "$" not in value:
        return value
    if not _SINGLE_QUOTE_UNSAFE.search(value) and not value.startswith(("'", '"')):
        return f"'{value}'"
    if not value.endswith("\\"):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        return f'"{escaped}"'
    # dotenv reads a quoted value's last backslash plus the closing quote as an escaped quote, so a
    # value ending in a backslash is only representable bare.
    raise ValueError(
        f"{key}: python-dotenv cannot read back a value that ends with a backslash and also spans "
        "lines, starts with a quote, has surrounding white space or a ' #'"
    )


def reader_warning(key: str, value: str) -> str | None:
    """Who would read `value`, as the kit writes it, differently from the kit and the app; None: nobody."""
    encoded = encode_value(key, value)
    if encoded == value:
        return None
    others = _KEEP_QUOTES
    if encoded.startswith('"'):
        others += "; systemd's EnvironmentFile= reads the escapes its own way"
        if "$" in value:
            others += ", and Compose expands the $"
    return (f"{key}: written quoted, because its value holds {_why_quoted(value)}; {others}. For a value every "
            f"reader takes as written, give it as {key}_FILE or a file in a secrets directory")


def _why_quoted(value: str) -> str:
    if "\n" in value or "\r" in value:
        return "a line break"
    if "$" in value:
        return "a $"
    if value != value.strip():
        return "white space at an end"
    return "a quote or a ' #'"


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


def _refuse_unreadable(text: str, changes: Mapping[str, str | None]) -> None:
    """A file its readers would refuse (every reader stops at textfile.MAX_BYTES) is never written: one
    oversized value would otherwise make the store unusable, for every later read and write."""
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        names = ", ".join(key for key, value in changes.items() if value is not None) or "the file"
        raise ValueError(f"{names}: the env-file would be {size} bytes with this value, more than the {MAX_BYTES} its "
                         "readers take; store a value this large elsewhere (a file the app reads) and its path here")


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
