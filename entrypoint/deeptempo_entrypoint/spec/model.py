"""The secrets spec as objects: entries, the groups their rules form, and what the spec decides for
everyone who reads it: its rule kinds and group checks, the service's port and health path, and which
values look like one of its secrets."""

import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any, NamedTuple

from deeptempo_entrypoint.constants import DEFAULT_PORT, HEALTH_PATH
from deeptempo_entrypoint.formats import FORMATS

SECRET = "secret"
BUILTIN_ORIGIN = "built-in"
PATTERN_SECONDS = 0.1  # a user's spec pattern may run this long on one value


class PatternTooSlow(Exception):
    """A user's spec pattern ran past PATTERN_SECONDS (nested repetition such as `(a+)+`)."""


def _simple(pattern: str) -> bool:
    """A pattern with at most one unbounded repetition (`*`, `+`, `{n,}`), none applied to a group, and
    no back-reference: `re` matches it in time linear in the value (`sk-ant-[A-Za-z0-9_-]+`,
    `(AKIA|ASIA)[A-Z0-9]{16}`). Nested or repeated repetition (`(a+)+`, `a*a*`) is not simple."""
    unbounded, index, in_class = 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 < len(pattern) and pattern[index + 1].isdigit():
                return False  # a back-reference
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "*+" or (char == "{" and re.match(r"\{\d*,(\d{3,})?\}", pattern[index:])):
            unbounded += 1  # `{n,}`, or `{n,m}` with m of 100 or more, repeats about as much as `+`
            if index > 0 and pattern[index - 1] == ")":
                return False
        elif char == "{" and index > 0 and pattern[index - 1] == ")":
            return False  # a counted group: (ab){2,5} multiplies the alternatives
        index += 1
    return unbounded <= 1


def pattern_match(pattern: str, value: str, *, trusted: bool) -> bool:
    """`pattern` against all of `value`: Python's `re` for the built-in spec and for any pattern that
    cannot backtrack without end (`_simple`), else the `regex` engine under a time bound, so a user's
    pattern cannot stall a start (and the common case does not pay for importing `regex`)."""
    if trusted or _simple(pattern):
        return re.fullmatch(pattern, value) is not None
    import regex  # measured: 9 ms, which a start with the built-in spec (only `re` patterns) never pays

    try:
        found = regex.fullmatch(pattern, value, timeout=PATTERN_SECONDS)
    except TimeoutError:
        raise PatternTooSlow(pattern) from None
    return found is not None


def pattern_spans(pattern: str, text: str, *, trusted: bool) -> list[tuple[int, int]]:
    """Where `pattern` occurs in `text` as a token of its own (no letter or digit right before or after
    it, so a 40-character key format is not found inside a 64-character digest), on the same engines as
    pattern_match; a user's pattern that runs past its bound covers all of `text`."""
    bounded = rf"(?<![A-Za-z0-9])(?:{pattern})(?![A-Za-z0-9])"
    if trusted or _simple(pattern):
        return [match.span() for match in re.finditer(bounded, text) if match.end() > match.start()]
    import regex  # as in pattern_match: only for a user's pattern that can backtrack

    try:
        return [match.span() for match in regex.finditer(bounded, text, timeout=PATTERN_SECONDS) if match.end() > match.start()]
    except TimeoutError:
        return [(0, len(text))]


# A URL that carries a password (scheme://user:password@host...), whatever its scheme: a credential.
URL_SHAPE = "a URL with a password"
# A password that is a variable's reference (${VAR}, $(VAR), $VAR) is a route, not a credential.
URL_WITH_PASSWORD = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:'\"]*:"
                               r"(?!(?:\$\{[^}@]*\}|\$\([^)@]*\)|\$[A-Za-z_][A-Za-z0-9_]*)@)[^\s/?#@'\"]+@[^\s'\"<>]*")


_PATH_SEGMENT = re.compile(r"[A-Z]?[a-z0-9]*")  # a word of a path: lower case, perhaps capitalised (Users)


def _path_segments(text: str, start: int, end: int) -> bool:
    """A match that is a run of a path's segments (words between `/`s, a `/` bounding it): the 40-character
    key formats take `/`, and a path's segments add up to 40 characters often enough to matter. A key's
    own parts between `/`s are mixed-case runs (`K7MDENG`), not words."""
    found = text[start:end]
    bounded = found[0] == "/" or found[-1] == "/" or text[start - 1:start] == "/" or text[end:end + 1] == "/"
    return "/" in found and bounded and all(_PATH_SEGMENT.fullmatch(part) for part in found.split("/"))


# The rule kinds an entry may have (spec.yaml's header says what each means).
REQUIRED = "required"
OPTIONAL = "optional"
ONE_OF = "one_of"
ALL_OR_NONE = "all_or_none"
REQUIRED_WITH = "required_with"  # required when the entry named by `when_set` is set
# What a new value of a secret in its file needs (spec.yaml's header says what each means).
FOLLOW = "follow"
RESTART = "restart"
NO_ROTATION = "none"


# A __slots__ class, not a dataclass or a NamedTuple: every start builds the built-in spec's entries,
# and defining either of those took 0.4 to 2 ms more (measured with python -X importtime and
# callgrind) on a path of about 10 ms in all.
class Entry:
    __slots__ = ("name", "kind", "service", "description", "rule", "group", "aliases", "pattern",
                 "format", "choices", "default", "placeholders", "children", "when_set", "rotation", "rotation_why")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.name: str = data["name"]
        self.kind: str = data["kind"]
        self.service: str = data["service"]
        self.description: str = data["description"]
        self.rule: str = data["rule"]
        self.group: str | None = data.get("group")
        self.aliases: tuple[str, ...] = tuple(data.get("aliases", ()))
        self.pattern: str | None = data.get("pattern")
        self.format: str | None = data.get("format")
        self.choices: tuple[str, ...] = tuple(data.get("choices", ()))
        self.default: str | None = data.get("default")
        self.placeholders: tuple[str, ...] = tuple(data.get("placeholders", ()))
        self.when_set: str | None = data.get("when_set")  # required_with: the entry whose presence requires this one
        # The app's child processes that receive this secret: "all", program names, or none (the default).
        children = data.get("children", ())
        self.children: str | tuple[str, ...] = children if children == "all" else tuple(children)
        # A secret's new value in its file: followed (the default), taken by a restart, or not taken.
        self.rotation: str | None = data.get("rotation", FOLLOW) if self.kind == SECRET else None
        self.rotation_why: str | None = data.get("rotation_why")

    @property
    def is_secret(self) -> bool:
        return self.kind == SECRET

    @property
    def lookup_names(self) -> tuple[str, ...]:
        """The canonical name first, then the legacy aliases it is also found under."""
        return (self.name, *self.aliases)

    def problem(self, value: str, *, trusted: bool) -> str | None:
        """Why `value` breaks the entry's choices, format or pattern, in words that do not quote it (the
        caller may add the value where it may be quoted: validation.value_problem). `trusted`: the
        built-in spec's patterns, run on Python's `re` without a time bound."""
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}"
        if self.format:
            reason = FORMATS[self.format](value)
            if reason:
                return reason
        if self.pattern:
            try:
                if not pattern_match(self.pattern, value, trusted=trusted):
                    return f"does not have the expected format (it should match {self.pattern})"
            except PatternTooSlow:
                return (f"cannot be checked: the spec's pattern for it ran longer than {PATTERN_SECONDS:g} s on this value; "
                        "simplify the pattern (nested repetition such as (a+)+ backtracks without end)")
        return None

    def __repr__(self) -> str:
        return f"Entry({self.name!r}, rule={self.rule!r})"


class Unmet(NamedTuple):
    """A rule of the spec that a set of present names breaks: `kind` is the entry's rule (required,
    one_of, all_or_none), `names` the entries it concerns, `missing` those absent."""

    kind: str
    group: str | None
    names: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def present(self) -> tuple[str, ...]:
        return tuple(name for name in self.names if name not in self.missing)


class Spec:
    def __init__(self, data: Mapping[str, Any], origin: str) -> None:
        self.origin = origin
        self.entries = tuple(Entry(item) for item in data["entries"])
        self.by_name = {entry.name: entry for entry in self.entries}
        self.groups: dict[str, list[Entry]] = {}
        for entry in self.entries:
            if entry.group:
                self.groups.setdefault(entry.group, []).append(entry)
        self.health_path: str = data.get("health_path", HEALTH_PATH)

    def entry_for(self, name: str) -> Entry | None:
        """The entry a canonical name or a legacy alias belongs to, or None."""
        entry = self.by_name.get(name)
        if entry is None:
            entry = next((e for e in self.entries if name in e.aliases), None)
        return entry

    @property
    def secrets(self) -> list[Entry]:
        return [entry for entry in self.entries if entry.is_secret]

    @property
    def port(self) -> int:
        """The port the service listens on unless told otherwise: the spec's PORT default."""
        entry = self.by_name.get("PORT")
        default = entry.default if entry else None
        # Digits counted before int() reads them: it refuses more than 4300 (a user's spec may hold them).
        if default and default.isascii() and default.isdigit() and len(default) <= 20 and 1 <= int(default) <= 65535:
            return int(default)
        return DEFAULT_PORT

    def unmet(self, present: Collection[str]) -> Iterator[Unmet]:
        """Every rule that `present` (the names that are set, or that reach a container) breaks: a
        required entry absent (or a required_with one while its `when_set` entry is present; `group` then
        names that entry), a one_of group with no member, an all_or_none group with some."""
        for entry in self.entries:
            if entry.rule == REQUIRED and entry.name not in present:
                yield Unmet(REQUIRED, None, (entry.name,), (entry.name,))
            elif entry.rule == REQUIRED_WITH and entry.when_set in present and entry.name not in present:
                yield Unmet(REQUIRED_WITH, entry.when_set, (entry.name,), (entry.name,))
        for group, members in self.groups.items():
            names = tuple(member.name for member in members)
            missing = tuple(name for name in names if name not in present)
            if members[0].rule == ONE_OF and len(missing) == len(names):
                yield Unmet(ONE_OF, group, names, missing)
            elif members[0].rule == ALL_OR_NONE and 0 < len(missing) < len(names):
                yield Unmet(ALL_OR_NONE, group, names, missing)

    def required_names(self) -> list[str]:
        """The secrets whose absence alone stops a start: every required one and the first member of
        each one_of group."""
        names = [entry.name for entry in self.secrets if entry.rule == REQUIRED]
        return names + [members[0].name for members in self.groups.values() if members[0].rule == ONE_OF]

    def is_active_example(self, entry: Entry) -> bool:
        """Whether env.example sets the entry rather than commenting it out: it must be set."""
        return entry.rule == REQUIRED or (entry.rule == ONE_OF and self.groups[entry.group or ""][0] is entry)

    def secret_shaped(self, value: str) -> Entry | None:
        """The secret whose format `value` has (its pattern in full, or a URL with a password where the
        format is one), or None: a literal of that shape is a secret, whatever its variable is called."""
        for entry in self.secrets:
            try:
                if entry.pattern and self.matches(entry.pattern, value):
                    return entry
            except PatternTooSlow:
                return entry  # cannot be told apart from a secret: treated as one
            if entry.format == "postgresql-url" and re.fullmatch(r"postgres(ql)?://[^:/@\s]*:[^@\s]+@\S+", value):
                return entry
        return None

    def secret_spans(self, text: str) -> list[tuple[int, int, str]]:
        """Every part of `text` that has a secret's shape, wherever it sits (`Bearer sk-ant-...`, a JSON
        blob, an ARN's name), as (start, end, the secret whose format it has, or "a URL with a password"):
        a secret's pattern as a token of its own, or a URL with a password. The one answer to "may this
        be shown?" for the entrypoint's messages and deeptempo-deploy's redaction boundary alike."""
        spans = [(*match.span(), URL_SHAPE) for match in URL_WITH_PASSWORD.finditer(text)]
        trusted = self.origin == BUILTIN_ORIGIN
        for entry in self.secrets:
            if entry.pattern:
                spans += [(start, end, entry.name) for start, end in pattern_spans(entry.pattern, text, trusted=trusted)
                          if not _path_segments(text, start, end)]
        return spans

    def matches(self, pattern: str, value: str) -> bool:
        return pattern_match(pattern, value, trusted=self.origin == BUILTIN_ORIGIN)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"Spec({self.origin!r}, {len(self.entries)} entries)"
