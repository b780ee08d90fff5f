"""deeptempo_deploy.testing, the module users write their CI tests with, on a real engine: the kit's
image with each way of delivering secrets, a refused start surfacing as the kit's findings in a pytest
failure (never a value), and the README's CI recipe (examples/ci-tests) run as written against the real
backend's image and PostgreSQL (the stand-in built from Debian's packages in the official image's place)."""

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from deeptempo_deploy.testing import DeepTempoContainer, StartRefused
from tests.helpers import CANARY_CLAUDE, PROJECT, RUN, write
from tests.readme import commands

LABELS = {"io.deeptempo.test": RUN, "io.deeptempo.run": RUN}
RUN_LABELS = ",".join(f"{key}={value}" for key, value in LABELS.items())
EXPECTED_SOURCE = {"files": "secrets-dir", "file-variable": "CLAUDE_API_KEY_FILE", "environment": "environment"}


def leftovers():
    found = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=io.deeptempo.test={RUN}", "--filter",
                            "label=org.testcontainers=true"], capture_output=True, text=True, check=True).stdout.split()
    return found + subprocess.run(["docker", "network", "ls", "-q", "--filter", f"label=io.deeptempo.test={RUN}"],
                                  capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize("delivery", sorted(EXPECTED_SOURCE))
def test_each_delivery_reaches_serve(image, delivery):
    with DeepTempoContainer(image, delivery=delivery, labels=LABELS).with_secret("CLAUDE_API_KEY", CANARY_CLAUDE) as soc:
        with urllib.request.urlopen(soc.url("/api/secrets/status"), timeout=10) as answer:
            claude = json.loads(answer.read())["secrets"]["CLAUDE_API_KEY"]
        assert claude["set"] is True and claude["source"] == EXPECTED_SOURCE[delivery]
        assert CANARY_CLAUDE not in soc.logs()


def test_a_refused_start_raises_with_the_kits_findings_and_no_value(image):
    container = DeepTempoContainer(image, labels=LABELS).with_secret("CLAUDE_API_KEY", "not-a-claude-key-" + "x" * 20)
    with pytest.raises(StartRefused) as refused:
        container.start(timeout=60)
    message = str(refused.value)
    assert "CLAUDE_API_KEY" in message and "exit 78" in message
    assert "not-a-claude-key" not in message
    assert leftovers() == []  # removed on the refusal


def test_in_a_users_pytest_run_a_refusal_is_the_failure_they_read(image, tmp_path):
    """What a user's CI log shows when the image refuses its secrets: the findings, in pytest's failure."""
    write(tmp_path / "conftest.py", 'import pytest\npytest_plugins = ["deeptempo_deploy.testing.fixtures"]\n\n\n'
          '@pytest.fixture\ndef deeptempo_secrets():\n    return {"CLAUDE_API_KEY": "not-a-claude-key-given"}\n', mode=0o644)
    write(tmp_path / "test_health.py", "def test_health(deeptempo_service):\n    assert deeptempo_service.url()\n", mode=0o644)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)], cwd=tmp_path,
                            env={**os.environ, "DEEPTEMPO_IMAGE": image, "DEEPTEMPO_CONTAINER_LABELS": RUN_LABELS},
                            capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "StartRefused" in output and "CLAUDE_API_KEY" in output, output[-3000:]
    assert "not-a-claude-key-given" not in output
    assert leftovers() == []


def test_the_readme_ci_recipe_runs_against_the_real_backend_and_postgresql(backend_image, postgres_image, tmp_path):
    install, build, run_tests = commands("ci-recipe")
    assert install.startswith("pip install ./deeptempo-deploy/entrypoint './deeptempo-deploy/deploy[deploy,testing]'")
    # The build is the session's backend image (the same recipe, built once per run): the test runs the rest.
    assert build == "docker build -t my-soc:ci -f deeptempo-deploy/examples/deeptempo-backend/Dockerfile deeptempo-ai-soc"
    os.symlink(PROJECT, tmp_path / "deeptempo-deploy")
    run_tests = run_tests.replace("DEEPTEMPO_IMAGE=my-soc:ci ", "").replace("pytest ", f"{sys.executable} -m pytest -p no:cacheprovider ")
    result = subprocess.run(["bash", "-euc", run_tests], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "DEEPTEMPO_IMAGE": backend_image, "DEEPTEMPO_POSTGRES_IMAGE": postgres_image,
                                 "DEEPTEMPO_CONTAINER_LABELS": RUN_LABELS, "TESTCONTAINERS_RYUK_DISABLED": "true"})
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]
    assert leftovers() == []
