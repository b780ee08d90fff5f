"""Judges platform engineers already run, on what the kit ships and renders: compose-lint and dclint on
the Compose files (as `docker compose config` merges them), parliament and cloudsplaining on the ECS
execution role's policy in every layout. Each is clean but for the exceptions README.md lists with their
reasons, and each still catches a copy broken one way (a judge that silently stopped working fails)."""

import json
import os
import re
import subprocess

import pytest
import yaml

from tests.helpers import DEPLOY, PROJECT, write

TOOLS = os.path.join(PROJECT, ".tools")
VENV_BIN = os.path.join(TOOLS, "venv", "bin")
DCLINT = os.path.join(TOOLS, "node_modules", ".bin", "dclint")


def tool(name):
    path = DCLINT if name == "dclint" else os.path.join(VENV_BIN, name)
    if not os.access(path, os.X_OK):
        pytest.skip(f"{name} is not installed (scripts/test installs it into .tools)")
    return path


def readme_exceptions(judge):
    """The rule ids README.md's "Independent judges" table excepts for `judge`."""
    text = open(os.path.join(PROJECT, "README.md")).read()
    section = text[text.index("## Independent judges"):]
    section = section[: section.index("\n## ", 1)]
    return {rule for line in section.splitlines() if line.startswith(f"| {judge} ")
            for rule in re.findall(r"`([A-Za-z0-9:_-]+)`", line.split("|")[2])}


# --- Compose -----------------------------------------------------------------------------------------

def merged(tmp_path, *files, change=None):
    """The files as Compose merges and interpolates them, written out: what the judges read."""
    result = subprocess.run(["docker", "compose", *[arg for path in files for arg in ("-f", path)], "config"],
                            capture_output=True, text=True)
    if result.returncode != 0 and "is not a docker command" in result.stderr:
        pytest.skip("the Compose v2 CLI is not installed (scripts/docker-engine up installs it)")
    assert result.returncode == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    if change:
        change(document["services"]["deeptempo"])
    return write(tmp_path / "merged.yml", yaml.safe_dump(document, sort_keys=False))


SHIPPED = [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.secrets.yml"],
           ["docker-compose.yml", "docker-compose.database.yml"],
           ["docker-compose.yml", "docker-compose.secrets.yml", "docker-compose.database.yml"]]
SHIPPED_IDS = ["env-file", "docker-secrets", "database", "docker-secrets-and-database"]


def compose_lint(path):
    result = subprocess.run([tool("compose-lint"), "check", "--format", "json", "--fail-on", "low", str(path)],
                            capture_output=True, text=True)
    return {finding["rule_id"] for finding in json.loads(result.stdout)["findings"]}


def dclint_errors(path):
    result = subprocess.run([tool("dclint"), "-f", "json", str(path)], capture_output=True, text=True)
    return {message["rule"] for report in json.loads(result.stdout) for message in report["messages"]
            if message["type"] == "error"}


@pytest.mark.parametrize("files", SHIPPED, ids=SHIPPED_IDS)
def test_compose_lint_passes_on_the_shipped_files_but_for_the_readmes_exceptions(tmp_path, files):
    found = compose_lint(merged(tmp_path, *(os.path.join(PROJECT, name) for name in files)))
    assert found <= readme_exceptions("compose-lint"), found - readme_exceptions("compose-lint")


@pytest.mark.parametrize("files", SHIPPED, ids=SHIPPED_IDS)
def test_dclint_passes_on_the_shipped_files_but_for_the_readmes_exceptions(tmp_path, files):
    found = dclint_errors(merged(tmp_path, *(os.path.join(PROJECT, name) for name in files)))
    assert found <= readme_exceptions("dclint"), found - readme_exceptions("dclint")


def test_the_compose_judges_still_catch_a_broken_copy(tmp_path):
    def broken(service):
        service["privileged"] = True
        service["ports"] = [{"target": 6987, "published": "6987"}]  # every interface

    path = merged(tmp_path, os.path.join(PROJECT, "docker-compose.yml"), change=broken)
    assert compose_lint(path) - readme_exceptions("compose-lint")
    assert dclint_errors(path) - readme_exceptions("dclint")


# --- the ECS execution role's policy ---------------------------------------------------------------------

def rendered_policies(tmp_path):
    policies = [os.path.join(PROJECT, "ecs", "execution-role-policy.json")]
    for layout in ("secret-per-variable", "json-secret", "ssm"):
        out = tmp_path / layout
        subprocess.run([*DEPLOY, "render", "ecs", "--layout", layout, "--output-dir", str(out), "--kms-key-arn",
                        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"], check=True,
                       capture_output=True)
        policies.append(str(out / "ecs" / "execution-role-policy.json"))
    return policies


def parliament(path):
    result = subprocess.run([tool("parliament"), "--json", "--string", open(path).read()], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    return {json.loads(line)["issue"] for line in result.stdout.splitlines() if line.strip()}


def cloudsplaining(path):
    result = subprocess.run([tool("cloudsplaining"), "scan-policy-file", "-i", str(path)], capture_output=True, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    return set(re.findall(r"Potential Issue found: (.+)", text))


def test_parliament_passes_on_every_rendered_policy(tmp_path):
    for path in rendered_policies(tmp_path):
        assert parliament(path) <= readme_exceptions("parliament"), path


def test_cloudsplaining_passes_on_every_rendered_policy_but_for_the_readmes_exceptions(tmp_path):
    allowed = {"Policy allows actions that return credentials"} if "credentials-exposure" in readme_exceptions(
        "cloudsplaining") else set()
    for path in rendered_policies(tmp_path):
        assert cloudsplaining(path) <= allowed, (path, cloudsplaining(path))


def test_the_policy_judges_still_catch_a_broken_copy(tmp_path):
    def broken(name, statement):
        policy = json.load(open(os.path.join(PROJECT, "ecs", "execution-role-policy.json")))
        policy["Statement"].append({"Effect": "Allow", "Resource": "*", **statement})
        return write(tmp_path / name, json.dumps(policy))

    every_secret = broken("star.json", {"Action": ["secretsmanager:*"]})
    assert "RESOURCE_STAR" in parliament(every_secret)
    assert "Policy allows ALL Actions from a service (like service:*)" in cloudsplaining(every_secret)
    assert "UNKNOWN_ACTION" in parliament(broken("typo.json", {"Action": ["s3:GetObjct"]}))
