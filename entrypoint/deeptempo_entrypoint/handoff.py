"""The secrets of the served process, handed to the app's own worker processes without the environment.

No child inherits a secret (deeptempo_entrypoint.children), and uvicorn's workers (`WEB_CONCURRENCY > 1`) are
children: `multiprocessing` spawns them with the C environment. So serve puts what it resolved in a
memory file only its uid can open and names it in DEEPTEMPO_HANDOFF (a /proc path, no secret). A worker reads it as
uvicorn imports the kit's protocol module (deeptempo_entrypoint.worker), before the app: its os.environ then holds every secret,
its C environment (/proc/PID/environ) none, and it keeps them from its own children the same way. A
process of the app's own `multiprocessing` pool reads them through the library (a source of its chain)."""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

from deeptempo_entrypoint.constants import HANDOFF_VARIABLE

if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping

    from deeptempo_entrypoint.children import Scope

MAX_BYTES = 1 << 20
_HANDOFF_PATH = re.compile(r"/proc/[0-9]{1,10}/fd/[0-9]{1,10}")
_kept_open: list[int] = []
_received = False


def write_handoff(values: Mapping[str, str], scope: Scope, files: Mapping[str, str], spec_origin: str | None) -> str | None:
    """The handoff's path, or None where the system has no memfd. The document lives in an anonymous
    memory file of this process (memfd, sealed against change, closed on exec), reached by its own uid
    as /proc/PID/fd/N: no file on any disk, and it is gone when this process ends, however it ends."""
    document = {"pid": os.getpid(), "values": dict(values), "scope": scope.as_dict(), "files": dict(files),
                "spec": spec_origin}
    try:
        descriptor = os.memfd_create("deeptempo-handoff", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    except (AttributeError, OSError):
        return None
    os.fchmod(descriptor, 0o600)
    os.write(descriptor, json.dumps(document).encode())
    import fcntl

    fcntl.fcntl(descriptor, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
    _kept_open.append(descriptor)  # open for the life of the process: it is what the path names
    return f"/proc/{os.getpid()}/fd/{descriptor}"


def read_handoff(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The handoff document named by DEEPTEMPO_HANDOFF when it is a /proc/PID/fd/N of this uid, mode
    0600, else None."""
    path = environ.get(HANDOFF_VARIABLE)
    if not path or not _HANDOFF_PATH.fullmatch(path):
        return None
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as stream:
        status = os.fstat(stream.fileno())
        if status.st_uid != os.getuid() or status.st_mode & 0o077:
            return None  # not ours, or readable by others: not trusted
        data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return None
    document: dict[str, Any] = json.loads(data)
    return document


def receive(environ: MutableMapping[str, str] | None = None) -> dict[str, Any] | None:
    """In a worker of the served process: take the handoff into os.environ and keep it from this
    worker's children; the document, for what else the worker sets up (deeptempo_entrypoint.worker). In the
    serving process itself, or a second time, nothing (None)."""
    global _received
    environ = os.environ if environ is None else environ
    if _received:
        return None
    document = read_handoff(environ)
    if document is None or document.get("pid") == os.getpid():
        return None
    from deeptempo_entrypoint.children import Scope, keep_from_children

    environ.update(document["values"])
    if environ is os.environ:
        keep_from_children(Scope.from_dict(document["scope"]))
    _received = True
    return document
