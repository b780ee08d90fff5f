"""The redaction boundary of `deeptempo-deploy`: every value the command has seen (read from an
env-file, a `secrets.env`, a `--secrets` mapping or the AWS APIs, a literal found in a manifest, a
token of a user's file that is not a valid name) is remembered here, and everything the command writes
leaves through `mask`, which replaces each of them, in the forms a tool or a log may print it in:

- as written, JSON-escaped, URL-encoded, base64'd (as Kubernetes stores it, at each alignment);
- in part: any run of MIN_RUN (12) or more consecutive characters of a remembered form (a value a log
  truncated, wrapped across lines, or quoted with its neighbours) is masked whole.

Values shorter than MIN_VALUE are masked only where they stand alone as a word (a 3-letter setting such
as `env` is not a secret, and masking every `env` would make reports unreadable).

Whether or not the command has seen it, any part of a text with a secret's shape (Spec.secret_spans: a
secret's format wherever it sits, a URL with a password) is masked too, but for the spec's placeholders
(the public examples env.example ships), for the built-in spec and the
spec the command was given. A tool's line the command relays (`relayed_line`) also loses whatever it quotes,
balanced or not, and every token that looks like a value."""

import base64
import functools
import json
import re
import urllib.parse
from collections.abc import Iterable

from deeptempo_entrypoint.spec.model import Spec

MASK = "***"
MIN_RUN = 12  # consecutive characters of a value masked wherever they appear (fewer would hit common words)
MIN_VALUE = 4  # shorter values are not remembered: they are no secret worth the noise


class Redactor:
    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._runs: set[str] = set()
        self._short: set[str] = set()

    def remember(self, value: str | None) -> None:
        """Mask `value` (and its encodings) in everything written from now on."""
        if not value or len(value.strip()) < MIN_VALUE:
            return
        for line in {value, value.strip(), *value.splitlines()}:
            for form in _forms(line):
                if len(form) < MIN_RUN:
                    self._short.add(form)
                    continue
                self._forms.add(form)
                self._runs.update(form[start:start + MIN_RUN] for start in range(len(form) - MIN_RUN + 1))

    def remember_all(self, values: Iterable[str | None]) -> None:
        for value in values:
            self.remember(value)

    def mask(self, text: str, spec: Spec | None = None) -> str:
        """`text` with every remembered value and every part with a secret's shape (of the built-in spec
        and of `spec`, the one the command was given) replaced by MASK."""
        if not text:
            return text
        covered = bytearray(len(text))
        for shapes in _shape_specs(spec):
            public = _placeholders(shapes)
            for start, end, _ in shapes.secret_spans(text):
                if text[start:end] not in public:  # env.example's placeholders are shipped, not secrets
                    covered[start:end] = b"\1" * (end - start)
        if self._runs:
            for start in range(len(text) - MIN_RUN + 1):
                if text[start:start + MIN_RUN] in self._runs:
                    covered[start:start + MIN_RUN] = b"\1" * MIN_RUN
        for short in self._short:
            for match in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(short)}(?![A-Za-z0-9_])", text):
                covered[match.start():match.end()] = b"\1" * (match.end() - match.start())
        out, index = [], 0
        while index < len(text):
            if covered[index]:
                while index < len(text) and covered[index]:
                    index += 1
                out.append(MASK)
            else:
                out.append(text[index])
                index += 1
        return "".join(out)


def _forms(value: str) -> set[str]:
    raw = value.encode("utf-8")
    forms = {value, json.dumps(value)[1:-1], urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
             base64.b64encode(raw).decode()}
    # Inside a longer base64 text the value starts at one of three alignments: the characters that
    # encode its bytes alone are the same whatever surrounds them.
    for shift in (1, 2):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        forms.add(encoded[4:-4] if len(encoded) > 8 else "")
    forms.add(base64.b64encode(raw).decode()[:-4])
    return {form for form in forms if form}


@functools.cache
def _builtin_spec() -> Spec:
    from deeptempo_entrypoint.spec import builtin_spec

    return builtin_spec()


def _placeholders(spec: Spec) -> frozenset[str]:
    return frozenset(placeholder for entry in spec for placeholder in entry.placeholders)


def _shape_specs(spec: Spec | None) -> list[Spec]:
    builtin = _builtin_spec()
    return [builtin] if spec is None or spec.origin == builtin.origin else [builtin, spec]


def may_echo(text: str, spec: Spec | None = None) -> bool:
    """Whether deeptempo-deploy may show `text` as it is: the boundary would change nothing in it."""
    return SEEN.mask(text, spec) == text


SEEN = Redactor()  # one command is one process: what it has seen so far


def remember(value: str | None) -> None:
    SEEN.remember(value)


def remember_all(values: Iterable[str | None]) -> None:
    SEEN.remember_all(values)


def mask(text: str, spec: Spec | None = None) -> str:
    return SEEN.mask(text, spec)


def mask_document(document: object, spec: Spec | None = None) -> object:
    """A JSON document with every string in it masked (keys too), before it is serialised: masking the
    serialised text could take a quote with a value and break the document."""
    if isinstance(document, str):
        return SEEN.mask(document, spec)
    if isinstance(document, dict):
        return {mask_document(key, spec): mask_document(value, spec) for key, value in document.items()}
    if isinstance(document, (list, tuple)):
        return [mask_document(item, spec) for item in document]
    return document


ELIDED = "«…»"
# An apostrophe between letters (can't, Docker 25's) opens no quotation: set aside while quotes go.
_APOSTROPHE = re.compile(r"(?<=[A-Za-z0-9])'(?=[A-Za-z])")
_KEPT_APOSTROPHE = "\ue000"  # a private-use character: no tool prints it
_QUOTED = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'|`[^`]*`")
_OPEN_QUOTE = re.compile(r"[\"'`].*", re.DOTALL)
# A token of a tool's line that looks like a value: long, mixed letters and digits, no separator.
_VALUE_TOKEN = re.compile(r"(?<![A-Za-z0-9+=_-])(?=[A-Za-z0-9+=_-]*[0-9])(?=[A-Za-z0-9+=_-]*[A-Za-z])[A-Za-z0-9+=_-]{24,}")


def relayed_line(line: str) -> str:
    """A tool's line (Compose, kustomize, Helm, systemd-analyze) as the kit repeats it. Tools quote the
    offending content, which may be a value no one has told the kit about: whatever the line quotes is
    left out, balanced or not (an unterminated quote takes the rest of the line with it, as Compose's
    `unterminated quoted value "...` would), and so is every token that looks like a value."""
    kept = _APOSTROPHE.sub(_KEPT_APOSTROPHE, line.replace(_KEPT_APOSTROPHE, "?"))
    kept = _OPEN_QUOTE.sub(ELIDED, _QUOTED.sub(ELIDED, kept))
    return _VALUE_TOKEN.sub(ELIDED, kept.replace(_KEPT_APOSTROPHE, "'"))
