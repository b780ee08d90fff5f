"""YAML as the kit reads a user's file (a spec, a manifest, a kustomization): a safe loader, libyaml's
C one when PyYAML has it, with aliases refused (no document needs them, and `*alias` trees, a billion
laughs, turn 1 KB into gigabytes) and nesting bounded. The events are scanned first, in C too."""

from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 64  # Kubernetes objects nest about 12 deep; a deeper document is no manifest


class YamlRefused(ValueError):
    """Aliases, or nesting beyond MAX_DEPTH: `where` is the line, for the message."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason, self.line = reason, line


def _checked(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise YamlRefused("aliases (*name) are not allowed", _line(event))
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep", _line(event))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _line(event: yaml.Event) -> int | None:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else None


def load(text: str) -> Any:
    _checked(text)
    return yaml.load(text, Loader=LOADER)  # noqa: S506 - a safe loader


def load_all(text: str) -> list[Any]:
    _checked(text)
    return list(yaml.load_all(text, Loader=LOADER))  # noqa: S506 - a safe loader


def position(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}" if mark else ""
