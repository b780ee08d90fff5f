"""The READMEs' command blocks, by the name each carries (`<!-- block: NAME -->` on the line before its
fence), so every test that runs one runs the text a user reads, and tests/test_readme.py can tell that
every block is run by some test or says why it cannot run here. Two READMEs: the kit's (README.md) and
the chart's (k8s/helm/deeptempo/README.md, its blocks read with chart_block and chart_commands)."""

import os
import re
import stat
from typing import NamedTuple

from tests.helpers import PROJECT

README = os.path.join(PROJECT, "README.md")
CHART_README = os.path.join(PROJECT, "k8s", "helm", "deeptempo", "README.md")
_BLOCK = re.compile(r"^<!-- block: ([a-z0-9-]+) -->\n```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


class Block(NamedTuple):
    name: str
    language: str
    text: str
    line: int


def blocks(path: str = README) -> dict[str, Block]:
    text = open(path).read()
    found: dict[str, Block] = {}
    for match in _BLOCK.finditer(text):
        name = match.group(1)
        assert name not in found, f"two blocks of {os.path.relpath(path, PROJECT)} are named {name}"
        found[name] = Block(name, match.group(2), match.group(3), text.count("\n", 0, match.start()) + 2)
    return found


def fence_count(path: str = README) -> int:
    """Every opening fence of the README (a block without a name would escape the walk)."""
    return sum(1 for line in open(path) if line.startswith("```")) // 2


def block(name: str, path: str = README) -> str:
    return blocks(path)[name].text


def commands(name: str, path: str = README) -> list[str]:
    """The block's command lines, their comments dropped."""
    return [re.sub(r"\s+#\s.*$", "", line).rstrip() for line in block(name, path).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def chart_block(name: str) -> str:
    return block(name, CHART_README)


def chart_commands(name: str) -> list[str]:
    return commands(name, CHART_README)


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
