"""The validation engine: a spec and a resolution in, every finding out (errors and warnings).
check, serve, status and every platform's verify call it. No message holds a value."""

from collections.abc import Collection, Iterator

from deeptempo_entrypoint.echo import safe_to_echo
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding, Where
from deeptempo_entrypoint.resolution import Resolution
from deeptempo_entrypoint.spec.model import ALL_OR_NONE, BUILTIN_ORIGIN, ONE_OF, REQUIRED, REQUIRED_WITH, Entry, Spec, Unmet

# Rule ids of the findings below (`check --json`'s "rule").
RULE_REQUIRED = "required"
RULE_ONE_OF = "one-of"
RULE_REQUIRED_WITH = "required-with"
RULE_ALL_OR_NONE = "all-or-none"
RULE_PLACEHOLDER = "placeholder"
RULE_FORMAT = "format"
RULE_WHITE_SPACE = "white-space"
RULE_LEGACY_NAME = "legacy-name"
RULE_QUOTED = "quoted"


def validate(spec: Spec, resolution: Resolution) -> list[Finding]:
    findings = list(resolution.findings)
    for entry in spec:
        resolved = resolution.secrets.get(entry.name)
        if resolved is not None:
            findings.extend(value_findings(entry, resolved.value, resolved.source, spec, found_as=resolved.found_as,
                                           withheld=resolution.withheld))
    for unmet in spec.unmet(resolution.secrets):
        findings.extend(_unmet_findings(spec, unmet, resolution))
    return findings


def value_findings(entry: Entry, value: str, source: str, spec: Spec, *, found_as: str | None = None,
                   at: Where | None = None, withheld: Collection[str] = ()) -> Iterator[Finding]:
    """What is wrong with `value` as the entry's value, found in `source` (a label or a file's line);
    `at` is where the findings say they are (default: that source); `withheld`: the values no message may
    quote (the run's resolved secrets: Resolution.withheld)."""
    where, at = f"from {source}", at or Where(source=source)
    if found_as and found_as != entry.name:
        yield Finding(entry.name, WARNING, f"found under the legacy name {found_as} ({where}); rename it to {entry.name}",
                      RULE_LEGACY_NAME, at)
    if value.casefold() in {placeholder.casefold() for placeholder in entry.placeholders}:
        yield Finding(entry.name, ERROR, f"still holds the placeholder from env.example ({where}); put the real value in",
                      RULE_PLACEHOLDER, at)
        return
    reason = value_problem(entry, value, spec, withheld)
    unquoted = _unquoted(value)
    if unquoted is not None and (reason or entry.is_secret):
        # Quotes first, whatever else is wrong: "does not have the expected format" alone would hide them.
        level = ERROR if reason else WARNING
        still = value_problem(entry, unquoted, spec) if reason else None
        yield Finding(entry.name, level, f"is wrapped in quotes, which became part of it ({where}: Docker's --env-file, "
                                         "Compose's environment and Kustomize keep them); write it bare (NAME=value)"
                                         + (f"; without them it still {still}" if still else
                                            "; without them the value would be valid" if reason else ""),
                      RULE_QUOTED, at)
        return
    stray_space = _stray_white_space(value)
    if reason and stray_space and not value_problem(entry, value.strip(), spec):
        yield Finding(entry.name, ERROR, f"{stray_space} ({where}); without it the value would be valid", RULE_WHITE_SPACE, at)
    elif reason:
        yield Finding(entry.name, ERROR, f"{reason}{'; it also ' + stray_space if stray_space else ''} ({where})",
                      RULE_FORMAT, at)
    elif entry.is_secret and stray_space:
        yield Finding(entry.name, WARNING, f"{stray_space} ({where}); is that intended?", RULE_WHITE_SPACE, at)


def _unquoted(value: str) -> str | None:
    """The value inside matching quotes that wrap all of it, or None."""
    if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return None


def _stray_white_space(value: str) -> str | None:
    if value.endswith("\r"):
        return "ends with a carriage return (a file saved with Windows line ends?)"
    if value != value.strip():
        return "has leading or trailing white space"
    return None


def value_problem(entry: Entry, value: str, spec: Spec | None = None, withheld: Collection[str] = ()) -> str | None:
    """Why `value` breaks the entry's choices, format or pattern (Entry.problem), with the value named
    where a message may quote it: a setting's value outside its choices, neither a secret's shape nor
    one of the `withheld` values."""
    reason = entry.problem(value, trusted=spec is not None and spec.origin == BUILTIN_ORIGIN)
    if reason and entry.choices and value not in entry.choices and not entry.is_secret and safe_to_echo(value, spec, withheld):
        reason += f" (got {value!r})"
    return reason


def _note(resolution: Resolution, name: str) -> str:
    note = resolution.missing_notes.get(name)
    return f"; {note}" if note else ""


def _unmet_findings(spec: Spec, unmet: Unmet, resolution: Resolution) -> Iterator[Finding]:
    first = spec.by_name[unmet.names[0]]
    looked = f"; looked in {resolution.looked_in()}" if resolution.searched else ""
    if unmet.kind == REQUIRED:
        yield Finding(first.name, ERROR, f"is required but not set ({first.description}){_note(resolution, first.name)}"
                                         f"{looked}", RULE_REQUIRED)
    elif unmet.kind == ONE_OF:
        notes = "".join(_note(resolution, name) for name in unmet.names)
        yield Finding(first.name, ERROR, f"is not set: set {' or '.join(unmet.names)} ({first.description}){notes}"
                                         f"{looked}", RULE_ONE_OF)
    elif unmet.kind == REQUIRED_WITH:
        yield Finding(first.name, ERROR, f"is required because {unmet.group} is set ({first.description}): set it, or "
                                         f"unset {unmet.group}{_note(resolution, first.name)}{looked}", RULE_REQUIRED_WITH)
    elif unmet.kind == ALL_OR_NONE:
        for name in unmet.missing:
            yield Finding(name, ERROR, f"is not set, but {', '.join(unmet.present)} is: the {unmet.group} group needs all "
                                       f"of {', '.join(unmet.names)} or none of them", RULE_ALL_OR_NONE)

