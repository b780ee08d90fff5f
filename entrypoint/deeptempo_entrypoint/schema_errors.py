"""JSON Schema failures in words that name the field and the expectation, never the offending value
(a validator's own message often quotes it). The spec, compose and Kubernetes checks all use this."""

from collections.abc import Iterable
from typing import Any


def field_path(path: Iterable[str | int]) -> str:
    field = "(top level)"
    for part in path:
        field = f"{field}[{part}]" if isinstance(part, int) else (part if field == "(top level)" else f"{field}.{part}")
    return field


def describe_schema_error(error: Any) -> str:
    """A schema failure in words that name the expectation, not the offending content."""
    expected = error.validator_value
    match error.validator:
        case "enum":
            return "must be one of " + ", ".join(map(str, expected))
        case "const":
            return f"must be {expected!r}"
        case "type":
            return f"must be of type {expected}"
        case "pattern":
            explained = error.schema.get("$comment") if isinstance(error.schema, dict) else None
            return str(explained) if explained else f"must match {expected}"
        case "format":
            return f"must be a valid {expected}"
        case "minLength":
            return "must not be empty"
        case "minItems":
            return f"must have at least {expected} item(s)"
        case "uniqueItems":
            return "must not repeat items"
        case "required" | "additionalProperties":
            return str(error.message)  # names the property, which is a key, not a value
        case "not":
            return "has a field not allowed here (secrets take no default or choices; only grouped rules take a group)"
        case _:
            return f"fails the schema's {error.validator!r} check"
