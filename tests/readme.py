"""The command blocks of README.md, of the documentation (docs/**/*.md) and of the Helm chart's README, by the name each carries
(`<!-- block: NAME -->` on the line before its fence; a name is unique across all of them), so every
test that runs one runs the text a user reads, and tests/test_readme.py can tell that every block is
run by some test or says why it cannot run here."""

import glob
import os
import re
import stat
from typing import NamedTuple

from tests.helpers import PROJECT

README = os.path.join(PROJECT, "README.md")
DOCS = os.path.join(PROJECT, "docs")
CHART_README = os.path.join(PROJECT, "k8s", "helm", "deeptempo", "README.md")
_BLOCK = re.compile(r"^<!-- block: ([a-z0-9-]+) -->\n```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


class Block(NamedTuple):
    name: str
    language: str
    text: str
    line: int
    file: str  # relative to the project


def documents() -> list[str]:
    """README.md, every page of the documentation and the chart's README, in a stable order."""
    return [README, *sorted(glob.glob(os.path.join(DOCS, "**", "*.md"), recursive=True)), CHART_README]


def blocks() -> dict[str, Block]:
    found: dict[str, Block] = {}
    for path in documents():
        text = open(path).read()
        relative = os.path.relpath(path, PROJECT)
        for match in _BLOCK.finditer(text):
            name, line = match.group(1), text.count("\n", 0, match.start()) + 2
            assert name not in found, (f"two blocks are named {name}: {found[name].file}:{found[name].line} "
                                        f"and {relative}:{line}")
            found[name] = Block(name, match.group(2), match.group(3), line, relative)
    return found


def fence_counts() -> dict[str, int]:
    """Every opening fence of each document (a block without a name would escape the walk)."""
    return {os.path.relpath(path, PROJECT): sum(1 for line in open(path) if line.startswith("```")) // 2
            for path in documents()}


def fence_count() -> int:
    return sum(fence_counts().values())


def block(name: str) -> str:
    return blocks()[name].text


def commands(name: str) -> list[str]:
    """The block's command lines, their comments dropped."""
    return [re.sub(r"\s+#\s.*$", "", line).rstrip() for line in block(name).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def sudo_shims(directory: str) -> str:
    """A PATH directory where `sudo` runs its command (the tests are root already) and `sudoedit FILE`
    writes $README_EDITED_TEXT into FILE (what the user would type in the editor)."""
    os.makedirs(directory, exist_ok=True)
    shims = {"sudo": '#!/bin/sh\nexec "$@"\n',
             "sudoedit": '#!/bin/sh\nprintf "%s" "$README_EDITED_TEXT" > "$1"\n'}
    for name, text in shims.items():
        path = os.path.join(directory, name)
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, stat.S_IRWXU)
    return directory
