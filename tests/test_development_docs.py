"""docs/development.md's table of platforms is the registry's: names, summaries and verbs, in order."""

import os
import re

from deeptempo_deploy.platforms.registry import PLATFORMS
from tests.helpers import PROJECT


def documented_platforms() -> list[tuple[str, str, str]]:
    text = open(os.path.join(PROJECT, "docs", "development.md"), encoding="utf-8").read()
    table = text.split("<!-- platforms: the registry's, in its order -->\n", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    return [tuple(cell.strip() for cell in re.split(r"\s*\|\s*", row.strip("| "))) for row in rows]  # type: ignore[misc]


def test_the_docs_list_the_registered_platforms() -> None:
    assert documented_platforms() == [(p.name, p.summary, ", ".join(p.verbs)) for p in PLATFORMS]
