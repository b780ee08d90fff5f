"""Google's own schema of a Cloud Run service: the `run.v1` discovery document that Google's Python
client (google-api-python-client) ships, its `Service` and every schema it refers to turned into a JSON
Schema where an unknown field or a wrong type is an error (additionalProperties false throughout)."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint.errors import UnavailableError
from deeptempo_entrypoint.findings import ERROR, Finding, Where

DOCUMENT = os.path.join("discovery_cache", "documents", "run.v1.json")
ROOT = "Service"
# Discovery's 64-bit integers are strings in JSON (Google's JSON mapping); a YAML author may write digits.
INT64_FORMATS = ("int64", "uint64")


def discovery_document() -> dict[str, Any]:
    """run.v1.json as the installed google-api-python-client ships it (read as a file: nothing of the
    client is imported)."""
    found = importlib.util.find_spec("googleapiclient")
    locations = list(found.submodule_search_locations or []) if found else []
    for location in locations:
        path = os.path.join(location, DOCUMENT)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as stream:
                document: dict[str, Any] = json.load(stream)
            return document
    raise UnavailableError("Google's run.v1 discovery document is missing: pip install 'deeptempo-deploy[deploy]' "
                           "(google-api-python-client ships it)")


def convert(schema: Mapping[str, Any]) -> dict[str, Any]:
    """One discovery schema as JSON Schema (draft 2020-12)."""
    if "$ref" in schema:
        return {"$ref": f"#/$defs/{schema['$ref']}"}
    kind = schema.get("type")
    if kind == "object":
        converted: dict[str, Any] = {"type": "object"}
        if "properties" in schema:
            converted["properties"] = {name: convert(value) for name, value in schema["properties"].items()}
        extra = schema.get("additionalProperties")
        converted["additionalProperties"] = convert(extra) if isinstance(extra, dict) else False
        return converted
    if kind == "array":
        return {"type": "array", "items": convert(schema.get("items") or {})}
    if kind == "string":
        if schema.get("format") in INT64_FORMATS:
            return {"type": ["string", "integer"], "pattern": r"^-?[0-9]+$"}
        return {"type": "string", **({"enum": list(schema["enum"])} if "enum" in schema else {})}
    if kind in ("integer", "number", "boolean"):
        return {"type": kind}
    return {}  # "any": Google's own word for no constraint


@cache
def service_schema() -> dict[str, Any]:
    schemas = discovery_document()["schemas"]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": f"#/$defs/{ROOT}",
            "$defs": {name: convert(schema) for name, schema in schemas.items()}}


def schema_findings(service: Any, view: SpecView, where: Where) -> list[Finding]:
    """Unknown fields and wrong types, each with its path; never a value (a message of jsonschema quotes
    the instance, so each is written here from the error's kind)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(service_schema())
    found = []
    for error in sorted(validator.iter_errors(service), key=lambda e: [str(part) for part in e.absolute_path]):
        for message in _messages(error, view):
            found.append(Finding(None, ERROR, message, "cloudrun-schema", where))
    return found


def _path(parts: Iterator[Any] | Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the document)"


def _messages(error: Any, view: SpecView) -> list[str]:
    path = _path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set((error.schema.get("properties") or {}))
        return [f"{path}: {view.judged_name(str(key), 'a field name')} is not a field of Cloud Run's {ROOT} schema"
                for key in error.instance if key not in known]
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        return [f"{path}: must be of type {expected}"]
    if error.validator == "enum":
        return [f"{path}: must be one of {', '.join(map(str, error.validator_value))}"]
    if error.validator == "pattern":
        return [f"{path}: must be an integer"]
    return [f"{path}: does not fit Cloud Run's {ROOT} schema ({error.validator})"]
