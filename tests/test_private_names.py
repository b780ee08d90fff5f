"""No private internals of Python or of a library: the kit uses documented interfaces, so that it keeps
working on every Python and every uvicorn it is tested on. An underscore-private attribute of a module or
an object the project does not define (`subprocess._USE_POSIX_SPAWN`, `os.environ._data`,
`Popen._execute_child`), or an import of an underscore-private name or module from outside the project,
fails this test, unless tests/private-names.allow lists it with the reason it is public after all
(documented despite its underscore, like `os._exit`)."""

import ast
import os
import re

from tests.helpers import PROJECT

PACKAGES = [os.path.join(PROJECT, "entrypoint", "deeptempo_entrypoint"), os.path.join(PROJECT, "deploy", "deeptempo_deploy")]
ALLOW_LIST = os.path.join(PROJECT, "tests", "private-names.allow")
OWN = ("deeptempo_entrypoint", "deeptempo_deploy")


def sources() -> dict[str, ast.Module]:
    trees = {}
    for package in PACKAGES:
        for directory, _, files in os.walk(package):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(directory, name)
                    trees[os.path.relpath(path, PROJECT)] = ast.parse(open(path).read(), path)
    return trees


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def defined_names(trees: dict[str, ast.Module]) -> set[str]:
    """Every private name the project itself defines: functions, classes, assignment targets, slots."""
    names: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return {name for name in names if private(name)}


def allowed() -> set[str]:
    """The allow-list's entries: `name  # reason` per line (the reason is required)."""
    entries = set()
    for line in open(ALLOW_LIST):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition("#")
        assert reason.strip(), f"{line!r}: an allowed private name needs its reason"
        entries.add(name.strip())
    return entries


def uses(trees: dict[str, ast.Module]) -> list[tuple[str, int, str]]:
    """(file, line, what) for each private attribute, imported name or module the code uses."""
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and private(node.attr):
                found.append((path, node.lineno, node.attr))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith(OWN) and node.level == 0:
                found += [(path, node.lineno, alias.name) for alias in node.names if private(alias.name)]
                found += [(path, node.lineno, part) for part in node.module.split(".") if private(part)]
            elif isinstance(node, ast.Import):
                found += [(path, node.lineno, part) for alias in node.names for part in alias.name.split(".") if private(part)]
    return found


def test_no_private_internals_of_python_or_a_library():
    trees = sources()
    own, allow = defined_names(trees), allowed()
    foreign = [f"{path}:{line}: {name}" for path, line, name in uses(trees) if name not in own and name not in allow]
    assert foreign == []


def test_the_allow_list_holds_nothing_unused():
    trees = sources()
    used = {name for _, _, name in uses(trees)}
    assert allowed() <= used, allowed() - used


def test_the_check_catches_what_it_is_for(tmp_path):
    broken = ast.parse("import subprocess, os\nsubprocess._USE_POSIX_SPAWN = False\nx = os.environ._data\n"
                       "from subprocess import _args_from_interpreter_flags\n")
    trees = {**sources(), "broken.py": broken}
    own = defined_names(sources())
    foreign = {name for path, _, name in uses(trees) if path == "broken.py" and name not in own}
    assert foreign == {"_USE_POSIX_SPAWN", "_data", "_args_from_interpreter_flags"}
    assert re.fullmatch(r"_\w+", "_data") and not private("__init__")
