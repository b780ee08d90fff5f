
from __future__ import annotations

import os
from collections.abc import Sequence

from deeptempo_entrypoint.constants import CREDENTIALS_LABEL, SECRETS_DIR_LABEL
from deeptempo_entrypoint.errors import SecretFileError
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding
from deeptempo_entrypoint.sources.base import SecretSource, did_you_mean
from deeptempo_entrypoint.textfile import link_escape, read_text, strip_one_newline

GENERATION_ATTEMPTS = 5
MAX_ENTRIES = 1024  # a secrets directory is read whole only as a Kubernetes volume: bounded all the same

FileValue = str | None | SecretFileError  # a secret file's value, None when empty, or why it cannot be used


def _value_of(path: str) -> FileValue:
    """A secret file's value (None when empty), or why it cannot be used: kept, to be raised at its lookup."""
    try:
        return strip_one_newline(read_text(path, error=SecretFileError, what="secret file")) or None
    except SecretFileError as exc:
        return exc


class SecretsDirectorySource(SecretSource):
    """One file per secret, named after it: Docker/Compose secrets under /run/secrets, a Kubernetes
    Secret mounted as a volume (its `..data` symlinks are followed, its dot-entries skipped).
    Compose secret names are usually lower case, so `claude_api_key` is found for CLAUDE_API_KEY."""

    label = SECRETS_DIR_LABEL

    def __init__(self, path: str | os.PathLike[str], explicit: bool = True) -> None:
        self.path = os.fspath(path)
        self.explicit = explicit
        # Each file is read once per run, from one `..data` generation of a Kubernetes volume: a start
        # during the kubelet's swap sees one consistent set of files, and a name read twice (under its
        # alias, by a check) has one value.
        self._read: dict[str, FileValue] = {}
        self._generation: dict[str, FileValue] | None = None

    def lookup(self, name: str) -> str | None:
        file_path = self.path_of(name)
        if file_path is None:
            return None
        if os.path.islink(file_path) and not os.path.exists(file_path):
            raise SecretFileError(f"secret file {file_path}: is a symbolic link to nothing")
        escape = link_escape(file_path)
        if escape:
            raise SecretFileError(f"secret file {file_path}: {escape}; refused")
        candidate = os.path.basename(file_path)
        if candidate not in self._read:
            if self._generation is None:
                self._generation = self._read_generation()
            self._read[candidate] = self._generation[candidate] if candidate in self._generation else _value_of(file_path)
        value = self._read[candidate]
        if isinstance(value, SecretFileError):
            raise value
        return value

    def _read_generation(self) -> dict[str, FileValue]:
        """Every file of a Kubernetes volume's current `..data` generation, read at the first lookup and
        retried until the generation held still while read; {} for a directory that is no such volume."""
        link = os.path.join(self.path, "..data")
        for _ in range(GENERATION_ATTEMPTS):
            try:
                target = os.readlink(link)
                names = os.listdir(os.path.join(self.path, target))[:MAX_ENTRIES]
            except OSError:
                if not os.path.islink(link):
                    return {}  # no Kubernetes volume: each file is read on its own
                continue  # swapped between the two calls: the next attempt sees the new generation
            values = {entry: _value_of(os.path.join(self.path, target, entry)) for entry in names
                      if not entry.startswith(".") and os.path.isfile(os.path.join(self.path, target, entry))}
            if os.path.isdir(os.path.join(self.path, target)) and os.readlink(link) == target:
                return values  # the generation stayed whole while it was read
        return {}

    def path_of(self, name: str) -> str | None:
        """The entry holding `name` (its name, else its lower-case name: Compose's secret names)."""
        for candidate in dict.fromkeys((name, name.lower())):
            file_path = os.path.join(self.path, candidate)
            if os.path.lexists(file_path):
                return file_path
        return None

    def findings(self, names: Sequence[str]) -> list[Finding]:
        if not os.path.isdir(self.path):
            if not self.explicit:
                return []
            problem = "is not a directory" if os.path.exists(self.path) else "does not exist"
            return [Finding(None, ERROR, f"{self.label} {self.path}: {problem}")]
        known = {candidate for name in names for candidate in (name, name.lower())}
        try:
            stray = sorted(entry for entry in os.listdir(self.path) if entry not in known and not entry.startswith("."))
        except OSError as exc:
            uid = os.getuid()
            return [Finding(None, ERROR, f"{self.label} {self.path}: cannot be listed ({exc.strerror}); the process runs as "
                                         f"uid {uid}: chown {uid} the directory on the host, or chmod 0755 it (its "
                                         "files keep their own modes)")]
        if not stray:
            return []
        spelled = {entry: did_you_mean(entry, [*names, *(name.lower() for name in names)]) for entry in stray}
        hints = "".join(f"; {entry}: did you mean {close}?" for entry, close in spelled.items() if close)
        return [Finding(None, WARNING, f"{self.label} {self.path}: ignored entries not in the spec: {', '.join(stray)}{hints}")]

    def describe(self) -> str:
        return f"{self.label} {self.path}" + ("" if os.path.isdir(self.path) else " (absent)")

    def why_missing(self, name: str) -> str | None:
        # An empty file is the documented way to leave an optional secret out (Compose needs every
        # file to exist), so it is mentioned only when the secret is needed.
        file_path = self.path_of(name)
        if file_path is None or not os.path.isfile(file_path):
            return None
        try:
            return f"secret file {file_path} is empty" if self.lookup(name) is None else None
        except SecretFileError:  # reported by the lookup itself
            return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"


class CredentialsDirectorySource(SecretsDirectorySource):
    """systemd credentials (LoadCredential=, SetCredentialEncrypted=): $CREDENTIALS_DIRECTORY."""

    label = CREDENTIALS_LABEL
