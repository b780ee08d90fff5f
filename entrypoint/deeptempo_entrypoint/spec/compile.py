"""Checking a spec file: YAML syntax, the JSON Schema, then what a schema cannot say (unique names,
consistent groups, defaults that pass their own checks).

`python -m deeptempo_entrypoint.spec.compile` regenerates builtin.py from spec.yaml.
"""


import json
import os
import pprint
import re
from collections.abc import Iterable
from typing import Any

import jsonschema
import yaml

from deeptempo_entrypoint import yamltext
from deeptempo_entrypoint.errors import SpecError
from deeptempo_entrypoint.schema_errors import describe_schema_error, field_path
from deeptempo_entrypoint.spec.files import BUILTIN_MODULE, SCHEMA_PATH, SOURCE_YAML
from deeptempo_entrypoint.spec.model import Entry
from deeptempo_entrypoint.textfile import read_text


def load_schema() -> dict[str, Any]:
    with open(SCHEMA_PATH, encoding="utf-8") as stream:
        schema: dict[str, Any] = json.load(stream)
    return schema


def compile_spec_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    text = read_text(path, error=SpecError, what="spec")
    return compile_spec_text(text, origin=os.fspath(path))


def compile_spec_text(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yamltext.load(text)
        problems = schema_problems(data) or consistency_problems(data)
    except yaml.YAMLError as exc:
        raise SpecError(f"spec {origin}: not valid YAML{_yaml_position(exc)}") from None
    except yamltext.YamlRefused as exc:
        raise SpecError(f"spec {origin}: not valid YAML at line {exc.line}: {exc.reason} in a spec") from None
    except RecursionError:
        raise SpecError(f"spec {origin}: is nested too deeply to be a spec") from None
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise SpecError(f"spec {origin}: {len(problems)} problem(s):\n{listing}",
                        problems=[f"spec {origin}: {problem}" for problem in problems])
    compiled: dict[str, Any] = data
    return compiled


def _yaml_position(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None)
    return f"{where}: {problem}" if problem else where


def schema_problems(data: Any) -> list[str]:
    """Every schema failure, by field. Entries that differ only in their name (a spec of many secrets
    is mostly that) are validated once, each name on its own, so the check's cost follows the number of
    different entries, not of entries; the failures are the same, reported at every entry they concern."""
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return _described(validator.iter_errors(data))
    shapes: dict[str, int] = {}
    unique: list[Any] = []
    members: list[list[int]] = []
    names: list[tuple[int, str]] = []
    for index, entry in enumerate(entries):
        shape = entry
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            names.append((index, entry["name"]))
            shape = {**entry, "name": NAME_STUB}
        key = json.dumps(shape, sort_keys=True, default=repr)
        if key not in shapes:
            shapes[key] = len(unique)
            unique.append(shape)
            members.append([])
        members[shapes[key]].append(index)
    problems = []
    for error in validator.iter_errors({**data, "entries": unique}):
        path = list(error.absolute_path)
        if path[:1] == ["entries"] and len(path) > 1:
            problems += [(["entries", index, *path[2:]], describe_schema_error(error)) for index in members[path[1]]]
        else:
            problems.append((path, describe_schema_error(error)))
    name_pattern = schema["$defs"]["envName"]["pattern"]
    problems += [(["entries", index, "name"], f"must match {name_pattern}") for index, name in names
                 if not re.search(name_pattern, name)]
    problems.sort(key=lambda problem: list(map(str, problem[0])))
    return [f"{field_path(path)}: {message}" for path, message in problems]


NAME_STUB = "NAME"  # an envName: what each entry's own name is checked against, apart


def _described(errors: Iterable[Any]) -> list[str]:
    ordered = sorted(errors, key=lambda e: list(map(str, e.absolute_path)))
    return [f"{field_path(error.absolute_path)}: {describe_schema_error(error)}" for error in ordered]


def consistency_problems(data: Any) -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    group_rules: dict[str, str] = {}
    for index, entry in enumerate(data["entries"]):
        where = f"entries[{index}]"
        for name in (entry["name"], *entry.get("aliases", ())):
            if name in seen:
                problems.append(f"{where}: name {name} is already used by {seen[name]}")
            seen[name] = f"entries[{index}]"
        if "group" in entry:
            rule = group_rules.setdefault(entry["group"], entry["rule"])
            if rule != entry["rule"]:
                problems.append(f"{where}.rule: group {entry['group']} mixes {rule} and {entry['rule']}")
        if "default" in entry:
            reason = Entry(entry).problem(entry["default"], trusted=False)
            if reason:
                problems.append(f"{where}.default: {reason}")
    names = {entry["name"] for entry in data["entries"]}
    for index, entry in enumerate(data["entries"]):
        if "when_set" in entry and (entry["when_set"] not in names or entry["when_set"] == entry["name"]):
            problems.append(f"entries[{index}].when_set: {entry['when_set']} is not another entry of the spec")
    return problems


def render_builtin_module(data: Any) -> str:
    return ("# Generated from spec.yaml by `python -m deeptempo_entrypoint.spec.compile`: do not edit; a test checks it.\n"
            "# A Python literal, so the start-up path loads the checked spec from bytecode, parsing nothing.\n"
            f"SPEC = {pprint.pformat(data, width=110, sort_dicts=False)}\n")


def main() -> None:
    with open(BUILTIN_MODULE, "w", encoding="utf-8") as stream:
        stream.write(render_builtin_module(compile_spec_file(SOURCE_YAML)))
    print(f"wrote {BUILTIN_MODULE}")


if __name__ == "__main__":
    main()
