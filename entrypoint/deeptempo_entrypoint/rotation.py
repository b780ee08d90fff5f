"""File-delivered secrets followed while the app runs: a new value is served without a restart.

For each secret serve read from a file (a secrets directory, a Kubernetes Secret volume, NAME_FILE, a
systemd credential), the file is checked at most once per INTERVAL: a `stat`, and a read only when
the file changed (another inode, size or mtime: the kubelet's `..data` swap, an editor's rename, a
write in place). The new value is read through the links at once (one consistent `..data`
generation), kept only when the file did not change while it was read (never half a write), and
validated against the spec: an invalid one is logged by name and the last valid value stays.
os.environ follows (a kept secret leaves the C environment at once: deeptempo_entrypoint.scoping); a
daemon thread checks every INTERVAL, and `get_secret` checks on the spot, so a read sees a change at most
INTERVAL after it. Secrets that arrived in the environment cannot change in a running process: they are
not followed.

Where a read may return new content with nothing `stat` sees changed (a Cloud Run secret volume on
`latest`), the deployment sets DEEPTEMPO_FOLLOW_FILE_CONTENT=1: each check then also compares a SHA-256
of the file's content (files up to CONTENT_BOUND bytes) with the last one read; the digest stays in
memory, never in a log line or a status."""

import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deeptempo_entrypoint.errors import SecretFileError
from deeptempo_entrypoint.findings import ERROR
from deeptempo_entrypoint.spec.model import Entry, Spec
from deeptempo_entrypoint.textfile import link_escape, read_text, strip_one_newline
from deeptempo_entrypoint.validation import value_findings

INTERVAL = 1.0  # seconds between two checks of one file
_log = logging.getLogger("deeptempo_entrypoint.rotation")
COMPARE_CONTENT_VARIABLE = "DEEPTEMPO_FOLLOW_FILE_CONTENT"
CONTENT_BOUND = 64 * 1024  # a secret file larger than this is followed by its stat alone


def file_signature(path: str) -> tuple[int, int, int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def content_digest(path: str, bound: int = CONTENT_BOUND) -> bytes | None:
    """SHA-256 of a regular file's content; None when it cannot be read or is larger than `bound`."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO put in its place must not hang
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        data = stream.read(bound + 1)
    return hashlib.sha256(data).digest() if len(data) <= bound else None


@dataclass
class Followed:
    """One file-delivered secret: its file, the value in use and when it last changed (no value in repr).
    `compare_content`: its content's digest is compared as well (a change `stat` cannot see)."""

    name: str
    path: str
    value: str = field(repr=False)
    compare_content: bool = False
    signature: tuple[int, int, int, int] | None = field(default=None, repr=False)
    digest: bytes | None = field(default=None, repr=False)  # None: followed by its stat alone
    revision: int = 1
    changed_at: float = field(default_factory=time.time, repr=False)
    checked_at: float = field(default_factory=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        self.signature = file_signature(self.path)
        self.digest = content_digest(self.path) if self.compare_content else None


class Rotation:
    def __init__(self, spec: Spec, followed: Mapping[str, Followed]) -> None:
        self.spec = spec
        self.followed = dict(followed)
        self._lock = threading.Lock()

    def value(self, name: str) -> str | None:
        """The value in use, checked first when INTERVAL has passed; None when `name` is not followed."""
        followed = self.followed.get(name)
        if followed is None:
            return None
        if time.monotonic() - followed.checked_at >= INTERVAL:
            self.check(followed)
        return followed.value

    def check(self, followed: Followed) -> bool:
        """True when a new valid value was taken."""
        with self._lock:
            followed.checked_at = time.monotonic()
            signature = file_signature(followed.path)
            if signature is None and followed.signature is not None:
                followed.signature = None  # said once; a file that comes back is read as a change
                gone = "its directory is gone too" if not os.path.isdir(os.path.dirname(followed.path)) else "deleted"
                _log.warning("%s: its file %s is gone (%s); the last valid value stays in use", followed.name,
                             followed.path, gone)
                return False
            if signature is None:
                return False
            unseen = None  # the new content's digest, when only the content tells it changed
            if signature == followed.signature:
                unseen = content_digest(followed.path) if followed.digest is not None else None
                if unseen is None or unseen == followed.digest:
                    return False
            try:
                value = self._read(followed.path, signature)
            except SecretFileError as exc:  # unreadable as it now is: said once, looked at again when it changes
                followed.signature = signature
                _log.warning("%s: %s; the last valid value stays in use", followed.name, exc)
                return False
            if value is None:
                return False  # changing while read, or gone: the next check sees it settled
            if followed.digest is not None:
                settled = content_digest(followed.path)
                if unseen is not None and settled != unseen:
                    return False  # its content changed while read: the next check sees it settled
                followed.digest = settled or followed.digest
            followed.signature = signature
            if value == followed.value:
                return False
            problem = self._problem(followed.name, value)
            if problem:
                _log.warning("%s: the new value in %s %s; the last valid value stays in use", followed.name,
                             followed.path, problem)
                return False
            followed.value, followed.revision, followed.changed_at = value, followed.revision + 1, time.time()
            os.environ[followed.name] = value
            _log.info("%s: a new value from %s is in use (revision %d)", followed.name, followed.path, followed.revision)
            return True

    def check_all(self) -> None:
        now = time.monotonic()
        for followed in list(self.followed.values()):
            if now - followed.checked_at >= INTERVAL:
                self.check(followed)

    def status(self, name: str) -> dict[str, Any]:
        followed = self.followed.get(name)
        if followed is None:
            return {"rotates": False}
        changed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(followed.changed_at))
        return {"rotates": True, "revision": followed.revision, "changed": changed}

    @staticmethod
    def _read(path: str, signature: tuple[int, int, int, int]) -> str | None:
        """The file's value, read as the sources read a secret file; None when it changed meanwhile (or
        went away); SecretFileError when it cannot be used (unreadable, too big, not UTF-8)."""
        if not os.path.exists(path):
            return None
        escape = link_escape(path)
        if escape:
            raise SecretFileError(f"secret file {path}: {escape}; refused")
        text = read_text(path, error=SecretFileError, what="secret file")
        return strip_one_newline(text) if file_signature(path) == signature else None

    def _problem(self, name: str, value: str) -> str | None:
        entry = self.spec.by_name.get(name)
        if entry is None:
            return None
        if not value:
            return "is empty"
        withheld = {value, *(followed.value for followed in self.followed.values())}  # none of them is quoted
        errors = [finding for finding in value_findings(entry, value, "the file", self.spec, withheld=withheld)
                  if finding.level == ERROR]
        return errors[0].message if errors else None

    def __repr__(self) -> str:
        return f"Rotation({sorted(self.followed)})"


# Process state, by nature: a served process runs one app, whose secrets' files one follower checks.
# The app reads its secrets through the library's get_secret(name), which takes no follower (the guide's
# API, and the app's code, are the app's), so the follower is found here: set once by start_following in
# the app's process, read by get_secret and the status routes, never replaced while the process serves.
_PROCESS_ROTATION: Rotation | None = None


def process_rotation() -> Rotation | None:
    """This process's follower of its secrets' files; None outside a served app (or nothing to follow)."""
    return _PROCESS_ROTATION


def start_following(paths: Mapping[str, str], spec: Spec) -> Rotation | None:
    """Follow each name's file in `paths` (name -> file) from the value os.environ holds now, with a
    daemon thread checking every INTERVAL: this process's follower (process_rotation), or None when
    nothing is followed."""
    global _PROCESS_ROTATION
    compare = os.environ.get(COMPARE_CONTENT_VARIABLE, "").strip() == "1"
    followed = {name: Followed(name, path, os.environ[name], compare) for name, path in paths.items() if name in os.environ}
    if not followed:
        return None
    active = _PROCESS_ROTATION = Rotation(spec, followed)

    def follow() -> None:
        while True:
            time.sleep(INTERVAL)
            try:
                active.check_all()
            except Exception as exc:  # a check must never end the thread; the next one tries again
                # The type only: a traceback's frames and message could quote what was read.
                _log.warning("checking the secret files failed (%s); trying again", type(exc).__name__)

    threading.Thread(target=follow, name="deeptempo-rotation", daemon=True).start()
    return active


def stop_following() -> None:
    """This process follows no file any more: what a harness that followed in-process calls before it
    goes on (benchmarks/run.py); a served app never does."""
    global _PROCESS_ROTATION
    _PROCESS_ROTATION = None


def forget(name: str) -> None:
    """Stop following `name`: the app set or deleted it itself."""
    if _PROCESS_ROTATION is not None:
        _PROCESS_ROTATION.followed.pop(name, None)


TAKES = {  # what a new value of a secret does, by its spec's rotation, when the secret arrived in a file
    "follow": "served without a restart",
    "restart": "serve restarts the app in place (no request fails)",
    "none": "logged only: nothing reads it again",
}
IN_THE_ENVIRONMENT = "a new container or unit takes a new value (it arrived in the environment, which cannot change)"


def rotation_policy(entry: Entry, from_file: bool) -> dict[str, Any]:
    """What a changed value of this secret does, and why: the spec's `rotation` and `rotation_why`, and
    what that means for where the secret arrived from."""
    policy = entry.rotation or "follow"
    return {"rotation": policy, "why": entry.rotation_why, "takes": TAKES[policy] if from_file else IN_THE_ENVIRONMENT,
            "rotates": from_file and policy != "none"}


def rotation_status(name: str) -> dict[str, Any]:
    """What a status shows of `name`'s rotation in this process: whether a new value in its file is
    served without a restart, its revision (1 at the start) and when it last changed; never a value or
    a hash of one."""
    return _PROCESS_ROTATION.status(name) if _PROCESS_ROTATION is not None else {"rotates": False}
