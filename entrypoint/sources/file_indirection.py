import os

from entrypoint.errors import SecretFileError
from entrypoint.sources.base import ERROR, Finding, SecretSource
from entrypoint.textfile import read_text, strip_one_newline

SUFFIX = "_FILE"


class FileIndirectionSource(SecretSource):
    """`NAME_FILE=/path`: the official images' convention for secrets mounted as files."""

    label = "_FILE"

    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ

    def lookup(self, name):
        path = self.environ.get(name + SUFFIX)
        if not path:
            return None
        return strip_one_newline(read_text(path, error=SecretFileError, what=f"{name}{SUFFIX}: file")) or None

    def findings(self, names):
        return [
            Finding(name, ERROR, f"both {name} and {name}{SUFFIX} are set; set only one of them")
            for name in names
            if self.environ.get(name) and self.environ.get(name + SUFFIX)
        ]

    def variables_to_unset(self, names):
        return [name + SUFFIX for name in names if name + SUFFIX in self.environ]
