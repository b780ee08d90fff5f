"""The mounted env-file as a source. Reading only: the guide's `dotenv` write backend, which the secrets
library alone uses, is sources/dotenv_backend.py (so check and serve never load the writer)."""

import os
import stat
from collections.abc import Iterable, Sequence

from deeptempo_entrypoint.constants import ENV_FILE_LABEL
from deeptempo_entrypoint.envfile.reader import EnvFile, read_env_file
from deeptempo_entrypoint.errors import EnvFileError
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding
from deeptempo_entrypoint.sources.base import SecretSource, did_you_mean
from deeptempo_entrypoint.trust import FIX, untrusted_writer


class EnvFileSource(SecretSource):
    """A mounted env-file (--env-file, DEEPTEMPO_ENV_FILE, ~/.deeptempo/.env). It is read afresh at
    each use: an edit on disk is seen by the next read."""

    label = ENV_FILE_LABEL

    def __init__(self, path: str | os.PathLike[str], explicit: bool = True) -> None:
        self.path = os.fspath(path)
        self.explicit = explicit
        self._cache: tuple[object, EnvFile | None] = (None, None)

    def _values(self) -> dict[str, str | None]:
        if not self.explicit and not os.path.exists(self.path):
            return {}
        return self._read().values

    def _read(self) -> EnvFile:
        """The file as it is on disk now; re-parsed only when its identity, content or status changed
        (a chmod or chown changes its ctime). A file someone else can write is refused, for every reader
        alike (check, serve, the library): none of its values is used."""
        try:
            info = os.stat(self.path)
        except OSError:
            identity = None
        else:  # a pipe (--env-file <(...)) can be read only once: its identity is the pipe itself
            identity = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns) if stat.S_ISREG(info.st_mode) \
                else ("pipe", info.st_ino)
        if identity is None or self._cache[0] != identity:
            if identity is not None and identity[0] != "pipe":
                self._refuse_untrusted()
            self._cache = (identity, read_env_file(self.path, strict=False))
        env_file = self._cache[1]
        assert env_file is not None
        return env_file

    def _refuse_untrusted(self) -> None:
        """As sshd's StrictModes: a file that another user owns, or that its group or anyone can write
        (or replace through a directory), could change the secrets and settings it gives."""
        writer = untrusted_writer(self.path)
        if writer:
            raise EnvFileError(f"env-file {self.path}: refused, {writer}: another user could change the secrets and "
                               f"settings it gives; {FIX}")

    def lookup(self, name: str) -> str | None:
        return self._values().get(name) or None

    def offered_names(self) -> tuple[str, ...]:
        try:
            return tuple(self._values())
        except EnvFileError:  # reported by findings()
            return ()

    def findings(self, names: Sequence[str]) -> list[Finding]:
        if not self.explicit and not os.path.exists(self.path):
            return []
        try:
            env_file = self._read()
        except EnvFileError as exc:
            return [Finding(None, ERROR, str(exc))]
        found = [Finding(None, ERROR, message) for message in env_file.errors]
        found += [Finding(key, WARNING, f"env-file {self.path}: {message}") for key, message in env_file.warnings]
        found += self._misspelt_key_findings(env_file.values, names)
        return self._readable_by_others() + found

    def _misspelt_key_findings(self, keys: Iterable[str], names: Sequence[str]) -> list[Finding]:
        found = []
        for key in keys:
            close = did_you_mean(key, names) if key not in names else None
            if close:
                found.append(Finding(key, WARNING, f"env-file {self.path}: {key} is not a name the spec knows; "
                                                   f"did you mean {close}?"))
        return found

    def describe(self) -> str:
        return f"env-file {self.path}" + ("" if os.path.exists(self.path) else " (absent)")

    def _readable_by_others(self) -> list[Finding]:
        mode = os.stat(self.path).st_mode
        if stat.S_ISREG(mode) and mode & (stat.S_IRGRP | stat.S_IROTH):
            return [Finding(None, WARNING, f"env-file {self.path}: is readable by group or others (mode "
                                           f"{stat.S_IMODE(mode):04o}); chmod 600 it")]
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"
