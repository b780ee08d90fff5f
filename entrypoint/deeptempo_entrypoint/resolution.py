"""Sources -> resolved secrets: for every spec entry, the first source (in list order) that has a
non-empty value under its name or a legacy alias. Problems are collected, never raised, so that every
one of them is reported at once."""


import os
from collections.abc import Callable, Iterable, Iterator, Sequence

from deeptempo_entrypoint.constants import OPTIONS_LABEL
from deeptempo_entrypoint.echo import MIN_WITHHELD
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding
from deeptempo_entrypoint.sources.base import SecretSource
from deeptempo_entrypoint.spec.model import Spec


# __slots__ classes, not dataclasses, on the start-up path: see deeptempo_entrypoint.spec.model.Entry.
class Resolved:
    """Where a value came from. The value itself is kept out of repr() and str()."""

    __slots__ = ("name", "value", "source", "found_as", "origin")

    def __init__(self, name: str, value: str, source: str, found_as: str, origin: SecretSource | None = None) -> None:
        self.name = name
        self.value = value
        self.source = source  # the label of the source that had it
        self.found_as = found_as  # the name it was found under (a legacy alias, perhaps)
        self.origin = origin  # the source itself

    def __repr__(self) -> str:
        return f"Resolved({self.name!r}, source={self.source!r}, found_as={self.found_as!r})"


def first_found(sources: Sequence[SecretSource], lookup_names: Sequence[str], name: str | None = None,
                on_error: Callable[[str, ConfigError], None] | None = None) -> Resolved | None:
    """The first non-empty value over `sources` (in order) and, in each, over `lookup_names` (in order).
    A source's ConfigError goes to `on_error` and the search goes on; without `on_error` it is raised."""
    for source in sources:
        for candidate in lookup_names:
            try:
                value = source.lookup(candidate)
            except ConfigError as exc:
                if on_error is None:
                    raise
                on_error(candidate, exc)
                continue
            if value:
                return Resolved(name or lookup_names[0], value, source.label_for(candidate), candidate, source)
    return None


class Resolution:
    """What the sources gave for a spec: the resolved secrets and settings, the findings of reading them,
    and what the started program must not see. No value appears in its repr."""

    def __init__(self, secrets: dict[str, Resolved], extra: dict[str, Resolved], findings: list[Finding],
                 unset: set[str], missing_notes: dict[str, str] | None = None, searched: Sequence[SecretSource] = (),
                 withheld: frozenset[str] = frozenset()) -> None:
        self.secrets = secrets  # spec name -> Resolved
        self.extra = extra  # names a source offers beyond the spec (env-file keys) -> Resolved
        self.findings = findings
        self.unset = unset  # variables the started program must not see
        self.missing_notes = missing_notes or {}  # spec name -> why it is not set (an empty file)
        self.searched = tuple(searched)  # the sources, in order: where a missing secret was looked for
        # The values no message of this run may quote: its secrets, whatever an env-file gave (echo.safe_to_echo).
        self.withheld = withheld

    def looked_in(self) -> str:
        return ", ".join(source.describe() for source in self.searched if source.label != OPTIONS_LABEL)

    def value(self, name: str, default: str | None = None) -> str | None:
        resolved = self.secrets.get(name) or self.extra.get(name)
        return resolved.value if resolved else default

    def sources(self) -> dict[str, str]:
        return {name: resolved.source for name, resolved in self.secrets.items()}

    def files(self, names: Iterable[str]) -> dict[str, str]:
        """Each of `names` (the spec's secrets) read from a regular file, by name: the file (what rotation
        follows)."""
        found = {}
        for name in names:
            resolved = self.secrets.get(name)
            if resolved is None:
                continue
            path = resolved.origin.path_of(resolved.found_as) if resolved.origin else None
            if path and os.path.isfile(path):
                found[name] = path
        return found

    def environment(self) -> dict[str, str]:
        """Every resolved value by its canonical name: what the started program is given."""
        return {name: resolved.value for name, resolved in {**self.extra, **self.secrets}.items()}

    def __repr__(self) -> str:
        return f"Resolution(secrets={sorted(self.secrets)}, extra={sorted(self.extra)}, findings={len(self.findings)})"


def resolve(spec: Spec, sources: Sequence[SecretSource]) -> Resolution:
    findings: list[Finding] = []
    names = [name for entry in spec for name in entry.lookup_names]
    for source in sources:
        findings.extend(source.findings(names))
    reported = {finding.message for finding in findings}

    def record(name: str, exc: ConfigError) -> None:
        if str(exc) not in reported:  # a broken file is reported once, not per name
            reported.add(str(exc))
            findings.append(Finding(getattr(exc, "subject", None) or name, ERROR, str(exc)))

    secrets = {}
    for entry in spec:
        found = first_found(sources, entry.lookup_names, entry.name, on_error=record)
        if found:
            secrets[entry.name] = found

    known = set(names)
    extra: dict[str, Resolved] = {}
    for name in _offered(sources):
        if name not in known and name not in extra:
            found = first_found(sources, (name,), on_error=record)
            if found:
                extra[name] = found

    findings.extend(_alias_conflicts(spec, sources, secrets))
    unset = {variable for source in sources for variable in source.variables_to_unset(names)}
    # The secrets, and an env-file's other values (a setting's value is echoed only when it is no secret's).
    withheld = {found.value for name, found in secrets.items() if spec.by_name[name].is_secret}
    withheld.update(found.value for found in extra.values())
    return Resolution(secrets, extra, findings, unset, _missing_notes(spec, sources, secrets), tuple(sources),
                      frozenset(value for value in withheld if len(value) >= MIN_WITHHELD))


def _missing_notes(spec: Spec, sources: Sequence[SecretSource], secrets: dict[str, Resolved]) -> dict[str, str]:
    notes = {}
    for entry in spec:
        if entry.name not in secrets:
            note = next((note for source in sources for name in entry.lookup_names if (note := source.why_missing(name))), None)
            if note:
                notes[entry.name] = note
    return notes


def _alias_conflicts(spec: Spec, sources: Sequence[SecretSource], secrets: dict[str, Resolved]) -> Iterator[Finding]:
    """A legacy name and its canonical name both set, to different values: say which one is used."""
    for entry in spec:
        if not entry.aliases or entry.name not in secrets:
            continue
        values = {}
        for name in entry.lookup_names:
            found = first_found(sources, (name,), on_error=lambda *_: None)
            if found:
                values[name] = found
        used = secrets[entry.name]
        differing = [name for name, found in values.items() if found.value != used.value]
        if differing:
            yield Finding(entry.name, WARNING, f"{used.found_as} and {', '.join(differing)} are both set, with different "
                                               f"values; {used.found_as} (from {used.source}) is used, remove the other")


def _offered(sources: Iterable[SecretSource]) -> Iterator[str]:
    for source in sources:
        yield from source.offered_names()
