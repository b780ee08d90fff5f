"""The spec as every platform sees it: which names are secrets and which are settings, how a key found
in a manifest (CLAUDE_API_KEY, a Docker secret named claude_api_key, CLAUDE_API_KEY_FILE) maps to an
entry, and the serve path's names for files. Platforms translate this; none re-reads the spec itself."""

import re
from dataclasses import dataclass

from entrypoint.constants import FILE_SUFFIX
from entrypoint.spec.model import Entry, Spec

# A variable name that looks like it holds a secret, though the spec does not list it.
SECRET_LIKE = re.compile(r"(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|PRIVATE_KEY|CREDENTIALS?|ACCESS_KEY)(_|$)",
                         re.IGNORECASE)


@dataclass(frozen=True)
class SpecView:
    spec: Spec

    @property
    def secrets(self) -> list[Entry]:
        return self.spec.secrets

    def entry_for_key(self, key: str) -> Entry | None:
        """The entry a manifest key stands for: its name, a legacy alias, or a secrets-directory file
        name (the lower-case form). None when the spec does not know it."""
        entry = self.spec.entry_for(key)
        if entry is None:
            entry = next((e for e in self.spec if key in (e.name.lower(), *(alias.lower() for alias in e.aliases))), None)
        return entry

    def entry_for_file_variable(self, key: str) -> Entry | None:
        """CLAUDE_API_KEY_FILE -> the CLAUDE_API_KEY entry (the official images' NAME_FILE)."""
        return self.entry_for_key(key[: -len(FILE_SUFFIX)]) if key.endswith(FILE_SUFFIX) else None

    def is_secret_key(self, key: str) -> bool:
        entry = self.entry_for_key(key)
        return entry.is_secret if entry else bool(SECRET_LIKE.search(key))

    def secret_entry_for_key(self, key: str) -> Entry | None:
        """The secret a key (or a file name) stands for; None for a setting or an unknown key."""
        entry = self.entry_for_key(key)
        return entry if entry and entry.is_secret else None

    @staticmethod
    def file_name(entry: Entry) -> str:
        """The file name a secret gets in a secrets directory (Docker/Compose secrets, a Secret volume):
        lower case, as Compose secrets are usually named; the serve path reads both forms."""
        return entry.name.lower()
