"""The validation engine: a spec and a resolution in, every finding out (errors and warnings).
check, serve, status and each platform's renderers all call `validate`. No message holds a value."""

import re

from entrypoint.findings import ERROR, WARNING, Finding
from entrypoint.formats import FORMATS

ECHO_LIMIT = 40  # a setting's value longer than this is never quoted: it could be a pasted secret


def validate(spec, resolution):
    findings = list(resolution.findings)
    for entry in spec:
        resolved = resolution.secrets.get(entry.name)
        if resolved is None:
            if entry.rule == "required":
                findings.append(Finding(entry.name, ERROR, f"is required but not set ({entry.description})"
                                                           + _note(resolution, entry.name)))
            continue
        findings.extend(_value_findings(entry, resolved, spec))
    findings.extend(_group_findings(spec, resolution))
    return findings


def _value_findings(entry, resolved, spec):
    value, where = resolved.value, f"from {resolved.source}"
    if resolved.found_as != entry.name:
        yield Finding(entry.name, WARNING, f"found under the legacy name {resolved.found_as} ({where}); rename it to {entry.name}")
    if value.casefold() in {placeholder.casefold() for placeholder in entry.placeholders}:
        yield Finding(entry.name, ERROR, f"still holds the placeholder from env.example ({where}); put the real value in")
        return
    reason = value_problem(entry, value, spec)
    stray_space = _stray_white_space(value)
    if reason and stray_space and not value_problem(entry, value.strip(), spec):
        yield Finding(entry.name, ERROR, f"{stray_space} ({where}); without it the value would be valid")
    elif reason:
        yield Finding(entry.name, ERROR, f"{reason}{'; it also ' + stray_space if stray_space else ''} ({where})")
    elif entry.is_secret and stray_space:
        yield Finding(entry.name, WARNING, f"{stray_space} ({where}); is that intended?")


def _stray_white_space(value):
    if value.endswith("\r"):
        return "ends with a carriage return (a file saved with Windows line ends?)"
    if value != value.strip():
        return "has leading or trailing white space"
    return None


def safe_to_echo(value, spec=None):
    """Whether a setting's value may appear in a message: short, one printable line, and matching no
    secret format of the spec (so `SECRETS_BACKEND=<a pasted API key>` is never echoed)."""
    if len(value) > ECHO_LIMIT or not value.isprintable():
        return False
    if spec is None:
        from entrypoint.spec import builtin_spec

        spec = builtin_spec()
    return not any(entry.pattern and re.search(entry.pattern, value) for entry in spec if entry.is_secret)


def value_problem(entry, value, spec=None):
    """Why `value` breaks the entry's choices, format or pattern, in words that do not quote it."""
    if entry.choices and value not in entry.choices:
        shown = f" (got {value!r})" if not entry.is_secret and safe_to_echo(value, spec) else ""
        return f"must be one of {', '.join(entry.choices)}{shown}"
    if entry.format:
        reason = FORMATS[entry.format](value)
        if reason:
            return reason
    if entry.pattern and not re.fullmatch(entry.pattern, value):
        return f"does not have the expected format (it should match {entry.pattern})"
    return None


def _note(resolution, name):
    note = resolution.missing_notes.get(name)
    return f"; {note}" if note else ""


def _group_findings(spec, resolution):
    for group, members in spec.groups.items():
        names = [entry.name for entry in members]
        present = [name for name in names if name in resolution.secrets]
        rule = members[0].rule
        if rule == "one_of" and not present:
            notes = "".join(_note(resolution, name) for name in names)
            yield Finding(names[0], ERROR, f"is not set: set {' or '.join(names)} ({members[0].description}){notes}")
        elif rule == "all_or_none" and present and len(present) < len(names):
            for name in names:
                if name not in present:
                    yield Finding(name, ERROR, f"is not set, but {', '.join(present)} is: the {group} group needs all of "
                                               f"{', '.join(names)} or none of them")
