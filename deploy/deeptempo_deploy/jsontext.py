"""JSON as deeptempo-deploy reads a user's file (a task definition, a policy, a secrets mapping) or a
tool's output: Python's parser, with an integer too long to be any field's value refused by name. Python
refuses to read more than 4300 decimal digits, with a ValueError no caller would expect of a JSON parse."""

import json
from typing import Any

from deeptempo_entrypoint.yamltext import MAX_INTEGER_DIGITS


class JsonRefused(ValueError):
    """An integer of more than MAX_INTEGER_DIGITS digits: no task definition or policy holds one."""


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise JsonRefused(f"an integer of more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def loads(text: str) -> Any:
    """json.loads, bounded; raises json.JSONDecodeError or JsonRefused."""
    return json.loads(text, parse_int=_integer)
