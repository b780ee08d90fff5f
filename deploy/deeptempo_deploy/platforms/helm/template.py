"""Helm's own reading of a chart: `helm template` renders it with the values given (and checks them
against values.schema.json), the step before the Kubernetes loader."""

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

from deeptempo_deploy.platforms.helm import NAMESPACE, RELEASE
from deeptempo_deploy.platforms.helm.set_values import private_values_file, settings_overlay
from deeptempo_deploy.platforms.k8s.manifests import MAX_RENDERED_BYTES, Document, parse_documents
from deeptempo_deploy.redaction import relayed_line, remember
from deeptempo_entrypoint.errors import ConfigError, UnavailableError


def helm() -> str:
    """helm from PATH, else beside this interpreter (scripts/install-helm puts it in the venv)."""
    found = shutil.which("helm") or shutil.which("helm", path=os.path.dirname(sys.executable))
    if not found:
        raise UnavailableError("helm is not installed (https://helm.sh/docs/intro/install/; scripts/install-helm "
                               "installs it into the venv)")
    return found


def helm_template(chart: str, values: Sequence[str] = (), settings: Sequence[str] = (),
                  file_settings: Sequence[str] = ()) -> list[Document]:
    """The documents `helm template` renders for CHART with the values files, --set pairs and --set-file
    KEY=PATH pairs given. Those values reach helm in a private values file (set_values.py), never on its
    command line."""
    from deeptempo_entrypoint.textfile import read_text

    if not os.path.isdir(chart):
        raise ConfigError(f"chart {chart}: is not a directory")
    for pair in settings:
        remember(pair.partition("=")[2])  # a --set value may be a secret: masked in every report
    from_files = []
    for pair in file_settings:
        key, equals, path = pair.partition("=")
        if not equals or not path:
            raise ConfigError(f"--set-file {key}: give KEY=PATH, as helm's --set-file")
        text = read_text(path, error=ConfigError, what="--set-file file")
        remember(text)
        from_files.append((key, text))
    command = [helm(), "template", RELEASE, chart, "--namespace", NAMESPACE]
    for path in values:
        command += ["--values", path]
    with private_values_file(settings_overlay(values, settings, from_files) if settings or from_files else {}) as private:
        if settings or from_files:
            command += ["--values", private]
        result = _run(command, chart)
    if result.returncode != 0:
        # Helm names the value the schema refuses and quotes it: relay the line without what it quotes.
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = "; ".join(relayed_line(line)[:300] for line in lines[-6:]) or "failed"
        raise ConfigError(f"helm template {chart}: {reason}")
    if len(result.stdout) > MAX_RENDERED_BYTES:
        raise ConfigError(f"helm template {chart}: renders more than {MAX_RENDERED_BYTES // 2**20} MiB; not judged")
    return parse_documents(result.stdout, f"helm template {chart}")


def _run(command: list[str], chart: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"helm template {chart}: did not finish within 120 s") from None
