"""The import contracts of .importlinter (the runtime never imports the operator tools; the runtime's
pipeline sources -> resolution -> validation -> serve and library; no cycle), checked by import-linter's
`lint-imports` as CI runs it, and a cycle of any length, found on grimp's graph of both packages (which
counts imports inside functions). Each checker is shown to fail on a small package built to break it."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp

from tests.helpers import PROJECT

LINT_IMPORTS = os.path.join(os.path.dirname(sys.executable), "lint-imports")
PACKAGES = ("deeptempo_entrypoint", "deeptempo_deploy")


def lint_imports(directory: str, *, pythonpath: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **({"PYTHONPATH": pythonpath} if pythonpath else {})}
    return subprocess.run([LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=directory, env=environment,
                          capture_output=True, text=True, timeout=120)


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative): each is
    at least one cycle. A module importing itself is no cycle here (grimp records no such import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_contracts_hold() -> None:
    result = lint_imports(PROJECT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_no_cycle_of_any_length_among_the_modules_of_both_packages() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert len(graph.modules) > 90  # both packages, every module
    assert cycles(graph) == []


def sample_package(root: Path) -> Path:
    """A package whose three modules import each other in a ring, one of the imports inside a function,
    and whose `runtime` module imports its `operator` module."""
    package = root / "ringed"
    package.mkdir()
    files = {
        "__init__.py": "",
        "first.py": "from ringed import second\n",
        "second.py": "def later():\n    from ringed import third\n    return third\n",
        "third.py": "import ringed.first\n",
        "runtime.py": "from ringed.operator import tool\n",
        "operator.py": "tool = 1\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    return package


def test_the_checkers_report_a_cycle_and_a_forbidden_import(tmp_path: Path) -> None:
    sample_package(tmp_path)
    (tmp_path / ".importlinter").write_text(textwrap.dedent("""\
        [importlinter]
        root_packages =
            ringed

        [importlinter:contract:no-cycles]
        name = No cycle
        type = acyclic_siblings
        ancestors =
            ringed

        [importlinter:contract:runtime-alone]
        name = The runtime alone
        type = forbidden
        source_modules =
            ringed.runtime
        forbidden_modules =
            ringed.operator
        """))
    result = lint_imports(str(tmp_path), pythonpath=str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No cycle BROKEN" in result.stdout
    assert "The runtime alone BROKEN" in result.stdout
    assert "0 kept, 2 broken" in result.stdout

    sys.path.insert(0, str(tmp_path))
    try:
        graph = grimp.build_graph("ringed", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert cycles(graph) == [["ringed.first", "ringed.second", "ringed.third"]]
