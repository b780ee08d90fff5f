"""The spec as every platform sees it: which names are secrets and which are settings, how a key found
in a manifest (CLAUDE_API_KEY, a Docker secret named claude_api_key, CLAUDE_API_KEY_FILE) maps to an
entry, and the serve path's names for files. Platforms translate this; none re-reads the spec itself."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from deeptempo_deploy.redaction import remember
from deeptempo_entrypoint.constants import FILE_SUFFIX
from deeptempo_entrypoint.spec.model import Entry, Spec

# A token with no separators, long and of mixed letters and digits: a key or token, not a name.
HIGH_ENTROPY = re.compile(r"(?=[^\s/:.]*[0-9])(?=[^\s/:.]*[A-Za-z])[A-Za-z0-9+=_-]{24,}")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
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

    def looks_like_a_value(self, text: str) -> bool:
        """Whether a name found in a user's file (a key, a valueFrom) is more likely a pasted value: it
        has a secret's format, or is a long token of mixed letters and digits with no separator."""
        return bool(self.spec.secret_shaped(text)) or any(HIGH_ENTROPY.fullmatch(part) for part in re.split(r"[/:.]", text))

    def remember(self, name: str, value: str | None) -> None:
        """A value the command has seen, to be masked in all it writes: every value but a setting's
        that has no secret's shape (settings such as LOG_LEVEL=info are meant to be read)."""
        entry = self.entry_for_key(name)
        if value and not (entry and not entry.is_secret and not self.spec.secret_shaped(value)):
            remember(value)

    def judged_name(self, name: str, what: str) -> str:
        """`name` when it may be printed; else a description that never quotes it (and it is masked)."""
        if VARIABLE_NAME.fullmatch(name) and not self.looks_like_a_value(name):
            return name
        remember(name)
        return f"{what} that is not a NAME (a value pasted without NAME=?)"

    @staticmethod
    def file_name(entry: Entry) -> str:
        """The file name a secret gets in a secrets directory (Docker/Compose secrets, a Secret volume):
        lower case, as Compose secrets are usually named; the serve path reads both forms."""
        return entry.name.lower()


def remember_secret_values(data: Mapping[str, str | None], spec: Spec | None = None) -> None:
    """Remember, to be masked, the values of `data` (an env-file's, a Secret's) that are secrets' or may
    be: a setting's (POSTGRES_USER=deeptempo, LOG_LEVEL=info) is meant to be read, and masking it would
    hide every name and word it happens to match in the reports."""
    from deeptempo_entrypoint.spec import builtin_spec

    view = SpecView(spec or builtin_spec())
    for key, value in data.items():
        view.remember(key, value)
