"""`--set KEY=VALUE` as Helm reads it, applied by the kit instead of by helm, so that no value given on
the kit's command line reaches helm's (any user of the machine reads a process's arguments in `ps`).

The assignments are parsed with Helm's own `--set` rules (its strvals grammar: `a.b=v`, `list[0].name=v`,
`a={x,y}`, `a=1,b=2`, backslash escapes; true/false/null and integers typed, everything else a string)
and applied, as helm applies them, over the values files merged in order. The top-level keys they touch
are then written, merged, into a private values file given to helm after the user's own: helm's
result is the same as with `--set`, and the files keep every key no assignment touches as helm reads it."""

from __future__ import annotations

import copy
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from deeptempo_entrypoint.errors import ConfigError

MAX_INDEX = 65536  # helm's own limits
MAX_NESTING = 30
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")  # strconv.ParseInt(value, 10, 64): no underscores, 64 bits
Values = dict[str, Any]


class _Cursor:
    """The text of one --set argument, read rune by rune; a backslash takes the next one literally."""

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def until(self, stops: str) -> tuple[str, str | None]:
        """The characters before the next unescaped stop, and that stop (None at the end)."""
        read: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            self.at += 1
            if char in stops:
                return "".join(read), char
            if char == "\\":
                if self.at == len(self.text):
                    return "".join(read), None
                char = self.text[self.at]
                self.at += 1
            read.append(char)
        return "".join(read), None

    def peek(self) -> str | None:
        return self.text[self.at] if self.at < len(self.text) else None

    def skip(self, char: str) -> None:
        if self.peek() == char:
            self.at += 1


def typed(value: str) -> object:
    """A --set value's type, as helm gives it: true/false and null in any case, an integer that does not
    start with 0 (but 0 itself), else the string."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value.lower() == "null":
        return None
    if value == "0":
        return 0
    if value and value[0] != "0" and _INTEGER.fullmatch(value) and -2**63 <= int(value) < 2**63:
        return int(value)
    return value


class SetError(ConfigError):
    """A --set argument helm would refuse; named by its position, never quoted (it holds values)."""


def apply_setting(line: str, values: Values) -> None:
    """One --set argument's assignments, applied to `values` in place."""
    cursor = _Cursor(line)
    while cursor.peek() is not None:
        _key(cursor, values, 0)


def _key(cursor: _Cursor, data: Values, nesting: int) -> None:
    key, stop = cursor.until("=[,.")
    if stop is None:
        raise SetError(f"key {_shown(key)} has no value")
    if stop == "[":
        existing = data.get(key, [])
        if not isinstance(existing, list):
            raise SetError(f"key {_shown(key)} is not a list")
        _set(data, key, _list_item(cursor, existing, _index(cursor), nesting))
    elif stop == "=":
        _set(data, key, _value(cursor))
    elif stop == ",":
        raise SetError(f"key {_shown(key)} has no value (cannot end with ,)")
    else:  # "."
        if nesting + 1 > MAX_NESTING:
            raise SetError(f"a key is nested more than {MAX_NESTING} levels deep")
        inner = data.get(key, {})
        if not isinstance(inner, dict):
            raise SetError(f"key {_shown(key)} is not a map")
        _key(cursor, inner, nesting + 1)
        if not inner:
            raise SetError(f"key map {_shown(key)} has no value")
        _set(data, key, inner)


def _value(cursor: _Cursor) -> object:
    """What follows `=`: a list in braces, or one value up to the next unescaped comma."""
    if cursor.peek() == "{":
        cursor.at += 1
        items = []
        while True:
            text, stop = cursor.until(",}")
            if stop is None:
                raise SetError("a list must end with '}'")
            items.append(typed(text))
            if stop == "}":
                cursor.skip(",")
                return items
    text, _ = cursor.until(",")
    return typed(text)


def _index(cursor: _Cursor) -> int:
    text, stop = cursor.until("]")
    if stop is None or not re.fullmatch(r"[+-]?[0-9]{1,9}", text):
        raise SetError("an index in brackets is not a number")
    return int(text)


def _list_item(cursor: _Cursor, items: list[Any], index: int, nesting: int) -> list[Any]:
    rest, stop = cursor.until("[.=")
    if rest:
        raise SetError("unexpected text after an index in brackets")
    if stop is None:
        raise SetError("a list item has no value")
    if stop == "=":
        return _set_index(items, index, _value(cursor))
    if stop == "[":
        nested_index = _index(cursor)
        existing = items[index] if 0 <= index < len(items) and items[index] is not None else []
        if not isinstance(existing, list):
            raise SetError("a list item is not a list")
        return _set_index(items, index, _list_item(cursor, existing, nested_index, nesting))
    inner = items[index] if 0 <= index < len(items) and isinstance(items[index], dict) else {}
    _key(cursor, inner, nesting)
    return _set_index(items, index, inner)


def _set_index(items: list[Any], index: int, value: object) -> list[Any]:
    if index < 0:
        raise SetError("a negative index is not allowed")
    if index > MAX_INDEX:
        raise SetError(f"an index is above helm's maximum of {MAX_INDEX}")
    items = items + [None] * (index + 1 - len(items))
    items[index] = value
    return items


def _set(data: Values, key: str, value: object) -> None:
    if key:  # helm ignores an empty key
        data[key] = value


def _shown(key: str) -> str:
    """A key as a message may name it: a key is a name, unless a value was pasted where it goes."""
    from deeptempo_deploy.platforms.spec_view import VARIABLE_NAME
    from deeptempo_deploy.redaction import may_echo

    named = all(VARIABLE_NAME.fullmatch(part) for part in key.split("/")) and len(key) <= 60
    return key if named and may_echo(key) else "(not shown)"


def merge(base: Values, overlay: Values) -> Values:
    """helm's merge of one values file over the ones before it: maps merged key by key, anything else
    replaced."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def settings_overlay(values_files: Sequence[str], settings: Sequence[str],
                     file_settings: Sequence[tuple[str, str]] = ()) -> Values:
    """The values the --set arguments (then the --set-file ones: KEY and the file's text) change, each
    top-level key they touch with its whole merged value: given to helm after the values files, it
    yields what helm makes of the files, `--set` and `--set-file` together."""
    base: Values = {}
    for path in values_files:
        base = merge(base, _values_file(path))
    changed = copy.deepcopy(base)
    touched: set[str] = set()
    for index, line in enumerate(settings, 1):
        try:
            apply_setting(line, changed)
        except SetError as exc:
            raise SetError(f"--set number {index}: {exc}") from None
        touched |= {key for key in changed if changed[key] != base.get(key, _ABSENT)}
    for index, (key, text) in enumerate(file_settings, 1):
        # helm's --set-file: the key as --set reads it, the file's text as the value, untyped and unparsed.
        marker = f"setfile{uuid.uuid4().hex}"
        try:
            apply_setting(f"{key}={marker}", changed)
        except SetError as exc:
            raise SetError(f"--set-file number {index}: {exc}") from None
        changed = _replaced(changed, marker, text)
        touched |= {key for key in changed if changed[key] != base.get(key, _ABSENT)}
    return {key: changed[key] for key in touched}


def _replaced(data: Any, marker: str, text: str) -> Any:
    if data == marker:
        return text
    if isinstance(data, dict):
        return {key: _replaced(value, marker, text) for key, value in data.items()}
    if isinstance(data, list):
        return [_replaced(item, marker, text) for item in data]
    return data


_ABSENT = object()


def _values_file(path: str) -> Values:
    import yaml

    from deeptempo_entrypoint import yamltext
    from deeptempo_entrypoint.textfile import read_text

    text = read_text(path, error=ConfigError, what="values file")
    try:
        document = yamltext.load(text)
    except (yaml.YAMLError, yamltext.YamlRefused):
        raise ConfigError(f"values file {path}: not valid YAML, or aliases or nesting refused") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"values file {path}: is not a mapping of values")
    return document


@contextmanager
def private_values_file(values: Values) -> Iterator[str]:
    """`values` written as YAML to a file only this user can read, in a private directory removed on
    every way out."""
    import tempfile

    import yaml

    with tempfile.TemporaryDirectory(prefix="deeptempo-helm-") as directory:  # 0700: mkdtemp's mode
        path = os.path.join(directory, "settings.yaml")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            yaml.safe_dump(values, stream, sort_keys=False)
        yield path
