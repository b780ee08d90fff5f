"""The two distributions as a user installs them from wheels (docs/getting-started.md, block
install-wheels), in a fresh environment: the runtime's wheel holds no operator code and installs alone
(deeptempo-entrypoint works, deeptempo_deploy is absent); the operator tools' wheel depends on it and
brings its extras. From a checkout (editable) is how scripts/test installs both for the whole suite."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.helpers import PROJECT
from tests.readme import commands

RUNTIME_WHEEL = "dist/deeptempo_entrypoint-0.1.0-py3-none-any.whl"
DEPLOY_WHEEL = "dist/deeptempo_deploy-0.1.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """The two distributions' folders, copied without build leftovers (what a clean checkout holds)."""
    root = tmp_path_factory.mktemp("checkout")
    for name in ("entrypoint", "deploy"):
        shutil.copytree(os.path.join(PROJECT, name), root / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    return root


@pytest.fixture(scope="module")
def venv(checkout):
    subprocess.run([sys.executable, "-m", "venv", str(checkout / "venv")], check=True)
    return checkout / "venv" / "bin"


def run_line(line, cwd, venv, *extra):
    """A block's line as typed, with the fresh environment's pip first on PATH."""
    environment = {**os.environ, "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    environment.pop("VIRTUAL_ENV", None)
    result = subprocess.run(["bash", "-c", line + "".join(f" {word}" for word in extra)], cwd=cwd, env=environment,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_the_wheels_install_as_the_docs_say(checkout, venv):
    build, runtime, tools = commands("install-wheels")
    run_line(build, checkout, venv)

    names = zipfile.ZipFile(checkout / RUNTIME_WHEEL).namelist()
    assert not [name for name in names if name.startswith("deeptempo_deploy")], names
    assert "deeptempo_entrypoint/deeptempo-probe" in names and "deeptempo_entrypoint/spec/spec.yaml" in names
    metadata = zipfile.ZipFile(checkout / DEPLOY_WHEEL).read("deeptempo_deploy-0.1.0.dist-info/METADATA").decode()
    assert "Requires-Dist: deeptempo-entrypoint==0.1.0" in metadata
    assert {"Provides-Extra: deploy", "Provides-Extra: testing"} <= set(metadata.splitlines())

    # The runtime alone: its program works, and no operator code came with it.
    run_line(runtime, checkout, venv)
    assert run_line("deeptempo-entrypoint --help", checkout, venv).stdout.startswith("Usage:")
    absent = subprocess.run([str(venv / "python"), "-c", "import deeptempo_deploy"], capture_output=True, text=True)
    assert "No module named 'deeptempo_deploy'" in absent.stderr
    assert not (venv / "deeptempo-deploy").exists()

    # The operator tools on top: what the line resolves (the extras' engines and judges, the runtime
    # already satisfied), then the wheel itself, whose program answers.
    report = checkout / "report.json"
    run_line(tools, checkout, venv, "--dry-run", "--quiet", "--report", str(report))
    resolved = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert {"deeptempo-deploy", "docker", "boto3", "kubernetes-validate", "google-api-python-client"} <= resolved
    assert "deeptempo-entrypoint" not in resolved  # the installed runtime satisfies the dependency
    run_line(f"pip install --quiet {DEPLOY_WHEEL}", checkout, venv)
    assert run_line("deeptempo-deploy --help", checkout, venv).stdout.startswith("Usage:")
