
from __future__ import annotations

from collections.abc import Mapping, Sequence

from deeptempo_entrypoint.constants import FILE_INDIRECTION_LABEL, FILE_SUFFIX
from deeptempo_entrypoint.errors import SecretFileError
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding
from deeptempo_entrypoint.sources.base import SecretSource
from deeptempo_entrypoint.textfile import read_text, strip_one_newline


class FileIndirectionSource(SecretSource):
    """`NAME_FILE=/path`: the official images' convention for secrets mounted as files."""

    label = FILE_INDIRECTION_LABEL

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        # Each file is read once per run: `NAME_FILE=<(vault read ...)` is a pipe, empty at a second read.
        self._read: dict[str, str | SecretFileError] = {}

    def label_for(self, name: str) -> str:
        return name + FILE_SUFFIX  # the variable the user set: CLAUDE_API_KEY_FILE

    def lookup(self, name: str) -> str | None:
        path = self.environ.get(name + FILE_SUFFIX)
        if not path:
            return None
        if path not in self._read:
            try:
                self._read[path] = strip_one_newline(read_text(path, error=SecretFileError, what=f"{name}{FILE_SUFFIX}: file"))
            except SecretFileError as exc:
                self._read[path] = exc
        found = self._read[path]
        if isinstance(found, SecretFileError):
            raise found
        return found or None

    def path_of(self, name: str) -> str | None:
        return self.environ.get(name + FILE_SUFFIX) or None

    def findings(self, names: Sequence[str]) -> list[Finding]:
        found = []
        for name in names:
            if self.environ.get(name) and self.environ.get(name + FILE_SUFFIX):
                found.append(Finding(name, ERROR, f"both {name} and {name}{FILE_SUFFIX} are set; set only one of them"))
            elif self.environ.get(name + FILE_SUFFIX) and self._is_empty(name):
                found.append(Finding(name, WARNING, f"the file named by {name}{FILE_SUFFIX} is empty, so {name} counts as not set"))
        return found

    def _is_empty(self, name: str) -> bool:
        try:
            return self.lookup(name) is None
        except SecretFileError:  # reported by the lookup itself
            return False

    def describe(self) -> str:
        return "NAME_FILE variables"

    def variables_to_unset(self, names: Sequence[str]) -> list[str]:
        return [name + FILE_SUFFIX for name in names if name + FILE_SUFFIX in self.environ]
