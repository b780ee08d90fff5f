"""The interface every secret source implements, and the one writable sources add."""


from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from deeptempo_entrypoint.findings import Finding


class SecretSource(ABC):
    """A place secrets are read from. An ordered list of sources is the precedence: the first source
    with a non-empty value for a name wins."""

    label: str  # one of deeptempo_entrypoint.constants' *_LABEL names: part of the JSON contract

    def label_for(self, name: str) -> str:
        """What `check --json` and DEEPTEMPO_SECRET_SOURCES call this source for `name`."""
        return self.label

    @abstractmethod
    def lookup(self, name: str) -> str | None:
        """The non-empty value of `name` here, or None. May raise a ConfigError naming `name`."""

    def findings(self, names: Sequence[str]) -> list[Finding]:
        """Problems of this source as a whole, for the spec's `names` (conflicts, stray files)."""
        return []

    def path_of(self, name: str) -> str | None:
        """The file that holds `name`'s value here, when this source reads files; else None."""
        return None

    def why_missing(self, name: str) -> str | None:
        """When `name` is not set here although it seems meant to be (an empty file), why; else None."""
        return None

    def offered_names(self) -> Iterable[str]:
        """Names this source brings beyond the spec's (an env-file exports all its keys)."""
        return ()

    def variables_to_unset(self, names: Sequence[str]) -> Iterable[str]:
        """Environment variables the started program must not see (the `_FILE` indirections)."""
        return ()

    def describe(self) -> str:
        """Where this source looked, for a missing secret's finding ("env-file /etc/x.env (absent)")."""
        return self.label

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r})"


def did_you_mean(key: str, names: Sequence[str]) -> str | None:
    """The spec name `key` most likely misspells, or None. Only keys that start like a name are
    compared (difflib costs, and a process environment holds many unrelated variables)."""
    upper = key.upper()
    if len(key) < 4 or not any(abs(len(name) - len(key)) <= 2 and name[:4].upper() == upper[:4] for name in names):
        return None  # nothing it could misspell: HOSTNAME is no HOST
    import difflib  # here, not at the top: measured 9 ms, paid only when a key may be a misspelling
    close = difflib.get_close_matches(key, [name for name in names if name.upper() != key.upper()], n=1, cutoff=0.8)
    return close[0] if close else None


class Written(NamedTuple):
    """What an update did: whether a name it removed was there, and what the writer should tell a user
    (names, never values: a value other readers of the store would read differently)."""

    removed: bool
    warnings: tuple[str, ...] = ()


class WritableSource(SecretSource):
    """A source the library can also write to: the user guide's write backends (env, dotenv, keyring)."""

    @abstractmethod
    def write(self, name: str, value: str) -> None:
        """Store `value` under `name`."""

    @abstractmethod
    def delete(self, name: str) -> bool:
        """Remove `name`; True if it was there."""

    def update(self, changes: Mapping[str, str | None]) -> Written:
        """Set (a str) or remove (None) each name. A source whose store can take them at once (an
        env-file) does so in one atomic write."""
        removed = False
        for name, value in changes.items():
            if value is None:
                removed = self.delete(name) or removed
            else:
                self.write(name, value)
        return Written(removed)
