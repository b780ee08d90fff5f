"""The redaction boundary of `deeptempo-deploy`: every value the command has seen (read from an
env-file, a `secrets.env`, a `--secrets` mapping or the AWS APIs, a literal found in a manifest, a
token of a user's file that is not a valid name) is remembered here, and everything the command writes
leaves through `mask`, which replaces each of them, in the forms a tool or a log may print it in:

- as written, JSON-escaped, URL-encoded, base64'd (as Kubernetes stores it, at each alignment);
- in part: any run of MIN_RUN (12) or more consecutive characters of a remembered form (a value a log
  truncated, wrapped across lines, or quoted with its neighbours) is masked whole.

Values shorter than MIN_VALUE are masked only where they stand alone as a word (a 3-letter setting such
as `env` is not a secret, and masking every `env` would make reports unreadable)."""

import base64
import json
import re
import urllib.parse
from collections.abc import Iterable

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

    def mask(self, text: str) -> str:
        if not (self._runs or self._short) or not text:
            return text
        covered = bytearray(len(text))
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


SEEN = Redactor()  # one command is one process: what it has seen so far


def remember(value: str | None) -> None:
    SEEN.remember(value)


def remember_all(values: Iterable[str | None]) -> None:
    SEEN.remember_all(values)


def mask(text: str) -> str:
    return SEEN.mask(text)


def mask_document(document: object) -> object:
    """A JSON document with every string in it masked (keys too), before it is serialised: masking the
    serialised text could take a quote with a value and break the document."""
    if isinstance(document, str):
        return SEEN.mask(document)
    if isinstance(document, dict):
        return {mask_document(key): mask_document(value) for key, value in document.items()}
    if isinstance(document, (list, tuple)):
        return [mask_document(item) for item in document]
    return document


def quoted_parts_removed(line: str) -> str:
    """A tool's line (Compose, kustomize, systemd-analyze) without what it quotes: tools quote the
    offending content, which may be a value no one has told the kit about."""
    return re.sub(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'|`[^`]*`", "«…»", line)
