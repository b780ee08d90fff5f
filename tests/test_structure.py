"""The shape of the package: layers that import only downwards, no two modules importing each other,
and no function more complex than 20 (radon's cyclomatic complexity)."""

import ast
import os

from radon.complexity import cc_visit

from tests.helpers import PROJECT

# The distributions' folders and their import packages.
PACKAGES = {"deeptempo_deploy": os.path.join(PROJECT, "deploy"), "deeptempo_entrypoint": os.path.join(PROJECT, "entrypoint")}
# The layers, top first: a module may import from its own layer and the ones below it.
LAYERS = ("deeptempo_deploy", "deeptempo_deploy.platforms", "deeptempo_entrypoint")


def modules() -> dict[str, str]:
    found = {}
    for package, folder in PACKAGES.items():
        for directory, _, files in os.walk(os.path.join(folder, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(directory, name)
                    module = os.path.relpath(path, folder)[:-3].replace(os.sep, ".").removesuffix(".__init__")
                    found[module] = path
    return found


def imports_of(path: str, known: set[str]) -> set[str]:
    """The kit's modules `path` imports, at module level or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            candidates = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        names.update(name for name in candidates if name in known)
    return names


def layer(module: str) -> int:
    return next(index for index, prefix in enumerate(LAYERS) if module == prefix or module.startswith(prefix + "."))


def test_no_import_runs_up_the_layers():
    known = modules()
    upward = [(module, imported) for module, path in known.items() for imported in imports_of(path, set(known))
              if layer(imported) < layer(module)]
    assert upward == []


def test_no_two_modules_import_each_other():
    known = modules()
    graph = {module: imports_of(path, set(known)) - {module} for module, path in known.items()}
    pairs = sorted({tuple(sorted((a, b))) for a, targets in graph.items() for b in targets if a in graph.get(b, set())})
    # A package's __init__ and its own modules are one unit: deeptempo_entrypoint.sources re-exports its sources lazily.
    pairs = [(a, b) for a, b in pairs if not (b.startswith(a + ".") or a.startswith(b + "."))]
    assert pairs == []


def test_no_function_is_more_complex_than_20():
    complex_ = [f"{os.path.relpath(path, PROJECT)}:{block.name} ({block.complexity})" for path in modules().values()
                for block in cc_visit(open(path).read()) if block.complexity > 20]
    assert complex_ == []
