"""A user's spec, checked once per content: the checked result is kept under the user's cache directory
($XDG_CACHE_HOME/deeptempo, else ~/.cache/deeptempo), keyed by the SHA-256 of the spec's text, the schema
and the kit's version, so a later start loads it as JSON instead of parsing YAML and running JSON Schema
(which cost in proportion to the spec's size). Where that directory cannot be written (a read-only
container), every start checks the spec in full, as before; a cache file not owned by this user, or
readable by others, is ignored."""


import hashlib
import json
import os
import stat
import time
from typing import Any

from deeptempo_entrypoint import __version__
from deeptempo_entrypoint.errors import SpecError
from deeptempo_entrypoint.spec.files import SCHEMA_PATH
from deeptempo_entrypoint.spec.model import BUILTIN_ORIGIN
from deeptempo_entrypoint.textfile import read_text
from deeptempo_entrypoint.trust import make_private_dirs


def cache_directory() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "deeptempo")


def _key(text: str) -> str:
    digest = hashlib.sha256(f"{__version__}\0".encode())
    with open(SCHEMA_PATH, "rb") as stream:
        digest.update(stream.read())
    digest.update(b"\0" + text.encode("utf-8"))
    return digest.hexdigest()


def compile_spec_file_cached(path: str | os.PathLike[str]) -> dict[str, Any]:
    text = read_text(path, error=SpecError, what="spec")
    directory = _private_cache_directory()
    if directory is None:  # no private directory of this user's: checked in full, nothing kept
        return _checked_in_full(text, os.fspath(path))
    cached = os.path.join(directory, f"spec-{_key(text)}.json")
    data = _read_cache(cached)
    if data is not None:
        return data
    data = _checked_in_full(text, os.fspath(path))
    _write_cache(cached, data)
    return data


def _checked_in_full(text: str, origin: str) -> dict[str, Any]:
    # Here, not at the top: the full check takes YAML and JSON Schema (tens of ms), which a cached spec skips.
    from deeptempo_entrypoint.spec.compile import compile_spec_text

    return compile_spec_text(text, origin=origin)


def _read_cache(path: str) -> dict[str, Any] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, encoding="utf-8") as stream:
        info = os.fstat(stream.fileno())
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            return None
        try:
            data: dict[str, Any] = json.load(stream)
            return data
        except ValueError:
            return None


def _private_cache_directory() -> str | None:
    """The cache directory, made 0700 if it is missing; None unless it is a real directory (not a link a
    user of a shared XDG_CACHE_HOME planted) of this user's that no one else can read or write."""
    directory = cache_directory()
    try:
        make_private_dirs(directory)
        info = os.lstat(directory)
    except OSError:
        return None  # a read-only home: the spec is checked in full at every start instead
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077:
        return None
    return directory


def _write_cache(path: str, data: dict[str, Any]) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        _remove_stale_temporaries(os.path.dirname(path))
        # O_EXCL | O_NOFOLLOW: never through a link planted under the temporary's name.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(data, stream)
        os.replace(temporary, path)
    except OSError:
        pass  # a full or read-only disk: the spec is checked in full next time


def _remove_stale_temporaries(directory: str, older_than: float = 60) -> None:
    """What an interrupted write left (a killed start): gone at the next write."""
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name.endswith(".tmp") and time.time() - os.lstat(path).st_mtime > older_than:
            os.unlink(path)


def cached_path(path: str | os.PathLike[str]) -> str | None:
    """Where the checked result of the spec at `path` is kept (None: the built-in spec, or no cache)."""
    if os.fspath(path) == BUILTIN_ORIGIN:
        return None
    directory = _private_cache_directory()
    if directory is None:
        return None
    cached = os.path.join(directory, f"spec-{_key(read_text(path, error=SpecError, what='spec'))}.json")
    return cached if os.path.isfile(cached) else None
