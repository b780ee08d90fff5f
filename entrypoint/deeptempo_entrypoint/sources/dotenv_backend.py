"""The guide's `dotenv` write backend: the env-file the secrets library reads (sources/env_file.py),
written in one atomic, locked write per change (envfile/writer.py)."""

import os
from collections.abc import Mapping

from deeptempo_entrypoint.envfile.writer import update_env_file
from deeptempo_entrypoint.sources.base import WritableSource, Written
from deeptempo_entrypoint.sources.env_file import EnvFileSource


class DotenvBackend(EnvFileSource, WritableSource):
    """An env-file the library writes to (SECRETS_BACKEND=dotenv, its default), and reads as EnvFileSource."""

    def write(self, name: str, value: str) -> None:
        self.update({name: value})

    def delete(self, name: str) -> bool:
        return self.update({name: None}).removed

    def update(self, changes: Mapping[str, str | None]) -> Written:
        """Every change in one atomic write; its warnings name a value other readers would read differently."""
        present = self._values() if os.path.exists(self.path) else {}
        removed = any(value is None and name in present for name, value in changes.items())
        changes = {name: value for name, value in changes.items() if value is not None or name in present}
        if not changes:
            return Written(False)
        return Written(removed, tuple(update_env_file(self.path, changes)))
