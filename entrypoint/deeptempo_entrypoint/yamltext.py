"""YAML as the kit reads a user's file (a spec, a manifest, a kustomization): a safe loader, libyaml's
C one when PyYAML has it, with aliases refused (no document needs them, and `*alias` trees, a billion
laughs, turn 1 KB into gigabytes) and nesting bounded. The tree libyaml composes is walked once before anything is built from it."""

from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 64  # Kubernetes objects nest about 12 deep; a deeper document is no manifest
# Kubernetes' integers are 64-bit (19 digits); Python refuses to read more than 4300 decimal digits (a
# ValueError, not a YAMLError), so a longer one is refused by name before it is constructed.
MAX_INTEGER_DIGITS = 100
INT_TAG = "tag:yaml.org,2002:int"


class YamlRefused(ValueError):
    """Aliases, nesting beyond MAX_DEPTH, or an integer too long to read: `line` is where, for the message."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason, self.line = reason, line


def _check(node: yaml.Node) -> None:
    """Walk the composed tree once: a node met twice is an alias's target; depth is bounded."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if id(current) in seen:
            raise YamlRefused("aliases (*name) are not allowed", _line(current))
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            children = [child for pair in current.value for child in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        else:
            if current.tag == INT_TAG and len(str(current.value)) > MAX_INTEGER_DIGITS:
                raise YamlRefused(f"an integer of more than {MAX_INTEGER_DIGITS} digits", _line(current))
            continue
        if depth > MAX_DEPTH:
            raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep", _line(current))
        stack.extend((child, depth + 1) for child in children)


def _line(node: yaml.Node | yaml.Event) -> int | None:
    mark = node.start_mark
    return mark.line + 1 if mark is not None else None


def _documents(text: str) -> list[Any]:
    """Each document, composed by libyaml (one parse), checked, then constructed safely."""
    loader = LOADER(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            _check(node)
            documents.append(loader.construct_document(node))
        return documents
    finally:
        loader.dispose()


def load(text: str) -> Any:
    documents = _documents(text)
    if len(documents) > 1:
        raise yaml.YAMLError("expected a single document in the stream, but found another document")
    return documents[0] if documents else None


def load_all(text: str) -> list[Any]:
    return _documents(text)


def position(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}" if mark else ""
