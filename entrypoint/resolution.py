"""Sources -> resolved secrets: for every spec entry, the first source (in list order) that has a
non-empty value under its name or a legacy alias. Problems are collected, never raised, so that every
one of them is reported at once."""

from entrypoint.errors import ConfigError
from entrypoint.sources.base import ERROR, Finding


class Resolved:
    """Where a value came from. The value itself is kept out of repr() and str()."""

    __slots__ = ("name", "value", "source", "found_as")

    def __init__(self, name, value, source, found_as):
        self.name = name
        self.value = value
        self.source = source
        self.found_as = found_as

    def __repr__(self):
        return f"Resolved({self.name!r}, source={self.source!r}, found_as={self.found_as!r})"


class Resolution:
    def __init__(self, secrets, extra, findings, unset):
        self.secrets = secrets  # spec name -> Resolved
        self.extra = extra  # names a source offers beyond the spec (env-file keys) -> Resolved
        self.findings = findings
        self.unset = unset  # variables the started program must not see

    def value(self, name, default=None):
        resolved = self.secrets.get(name) or self.extra.get(name)
        return resolved.value if resolved else default

    def sources(self):
        return {name: resolved.source for name, resolved in self.secrets.items()}

    def environment(self):
        """Every resolved value by its canonical name: what the started program is given."""
        return {name: resolved.value for name, resolved in {**self.extra, **self.secrets}.items()}

    def __repr__(self):
        return f"Resolution(secrets={sorted(self.secrets)}, extra={sorted(self.extra)}, findings={len(self.findings)})"


def resolve(spec, sources):
    findings = []
    names = [name for entry in spec for name in entry.lookup_names]
    for source in sources:
        findings.extend(source.findings(names))
    reported = {finding.message for finding in findings}

    def first_found(lookup_names):
        for source in sources:
            for name in lookup_names:
                try:
                    value = source.lookup(name)
                except ConfigError as exc:
                    if str(exc) not in reported:  # a broken file is reported once, not per name
                        reported.add(str(exc))
                        findings.append(Finding(name, ERROR, str(exc)))
                    continue
                if value:
                    return source.label, name, value
        return None

    secrets = {}
    for entry in spec:
        found = first_found(entry.lookup_names)
        if found:
            secrets[entry.name] = Resolved(entry.name, found[2], found[0], found[1])

    known = set(names)
    extra = {}
    for source in sources:
        for name in source.offered_names():
            if name not in known and name not in extra:
                found = first_found((name,))
                if found:
                    extra[name] = Resolved(name, found[2], found[0], found[1])

    unset = {variable for source in sources for variable in source.variables_to_unset(names)}
    return Resolution(secrets, extra, findings, unset)
