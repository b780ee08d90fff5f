"""ECS/Fargate offline: `verify ecs` passes on the shipped task definition and policy and fails, naming
the rule, on copies broken one way each; bad input is a clear error, exit 78, no value."""

import copy
import json
import os
import subprocess

import pytest

from deeptempo_deploy.platforms.ecs.arns import parse_value_from
from tests.helpers import CANARY_PASSWORD, DEPLOY, PROJECT, write

TASK_DEFINITION = os.path.join(PROJECT, "ecs", "task-definition.json")
POLICY = os.path.join(PROJECT, "ecs", "execution-role-policy.json")


def verify(task_definition, policy=None, stdin=None):
    command = [*DEPLOY, "verify", "ecs", str(task_definition), "--json"] + (["--policy", str(policy)] if policy else [])
    result = subprocess.run(command, capture_output=True, text=True, input=stdin)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None, result.stderr


def test_the_shipped_files_pass_warning_only_that_a_rotated_database_password_needs_new_tasks():
    code, report, stderr = verify(TASK_DEFINITION, POLICY)
    assert code == 0, json.dumps(report, indent=2) + stderr
    (warning,) = report["findings"]
    assert warning["rule"] == "rotation" and warning["level"] == "warning"
    assert warning["message"].startswith("POSTGRES_PASSWORD comes from a Secrets Manager credential secret")
    assert "--force-new-deployment" in warning["message"]


def test_the_task_reads_its_database_host_as_a_setting_and_the_users_password_from_a_json_secret():
    container = json.load(open(TASK_DEFINITION))["containerDefinitions"][0]
    environment = {item["name"]: item["value"] for item in container["environment"]}
    assert environment["DATA_BACKEND"] == "database" and environment["POSTGRES_HOST"].endswith(".rds.amazonaws.com")
    assert environment["POSTGRES_SSL_MODE"] == "require"
    (password,) = [item for item in container["secrets"] if item["name"] == "POSTGRES_PASSWORD"]
    ref = parse_value_from(password["valueFrom"])
    assert ref.resource.endswith(":secret:deeptempo/production/database") and ref.json_key == "password"
    policy = json.load(open(POLICY))
    assert ref.resource + "-??????" in policy["Statement"][0]["Resource"]


def test_an_rds_managed_secret_renders_and_is_covered_by_the_policy(tmp_path):
    """The documented shortcut: the master user's secret RDS manages (its name starts with rds!)."""
    result = subprocess.run([*DEPLOY, "render", "ecs", "--database-secret", "rds!db-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
                             "--only", "CLAUDE_API_KEY", "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    code, report, stderr = verify(tmp_path / "ecs" / "task-definition.json", tmp_path / "ecs" / "execution-role-policy.json")
    assert code == 0, json.dumps(report, indent=2) + stderr
    names = [item["name"] for item in _container(json.loads((tmp_path / "ecs" / "task-definition.json").read_text()))["secrets"]]
    assert names == ["CLAUDE_API_KEY", "POSTGRES_PASSWORD"]  # a database's password whatever --only says


def test_without_a_database_the_task_names_json_storage_nowhere_and_reads_no_database_secret(tmp_path):
    result = subprocess.run([*DEPLOY, "render", "ecs", "--no-database", "--output-dir", str(tmp_path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    container = _container(json.loads((tmp_path / "ecs" / "task-definition.json").read_text()))
    assert "POSTGRES_HOST" not in {item["name"] for item in container["environment"]}
    assert all("database" not in item["valueFrom"] for item in container["secrets"])
    code, report, _ = verify(tmp_path / "ecs" / "task-definition.json", tmp_path / "ecs" / "execution-role-policy.json")
    assert code == 0 and report["findings"] == []


@pytest.mark.parametrize("layout", ["secret-per-variable", "json-secret", "ssm"])
def test_every_layout_renders_a_valid_pair(tmp_path, layout):
    result = subprocess.run([*DEPLOY, "render", "ecs", "--layout", layout, "--kms-key-arn",
                             "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                             "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    code, report, stderr = verify(tmp_path / "ecs" / "task-definition.json", tmp_path / "ecs" / "execution-role-policy.json")
    assert code == 0, json.dumps(report, indent=2) + stderr
    task = json.loads((tmp_path / "ecs" / "task-definition.json").read_text())
    refs = [parse_value_from(s["valueFrom"]) for s in task["containerDefinitions"][0]["secrets"]
            if s["name"] != "POSTGRES_PASSWORD"]  # the database's JSON secret, in every layout
    assert {ref.service for ref in refs} == {"ssm" if layout == "ssm" else "secretsmanager"}
    assert all(ref.json_key for ref in refs) == (layout == "json-secret")


def test_describe_task_definition_output_is_accepted(tmp_path):
    task = json.load(open(TASK_DEFINITION))
    described = {"taskDefinition": {**task, "taskDefinitionArn": "arn:aws:ecs:us-east-1:111122223333:task-definition/deeptempo:3",
                                    "revision": 3, "status": "ACTIVE", "compatibilities": ["EC2", "FARGATE"],
                                    "requiresAttributes": [], "registeredAt": "2026-11-29T00:00:00Z"}}
    code, report, _ = verify("-", stdin=json.dumps(described))
    assert code == 0, report


def _container(task):
    return task["containerDefinitions"][0]


BROKEN = {
    "plaintext-secret": (lambda t, p: _container(t)["environment"].append({"name": "SPLUNK_PASSWORD", "value": CANARY_PASSWORD}),
                         "no-literal-secret"),
    "fargate-size": (lambda t, p: t.update(cpu="256", memory="8192"), "fargate"),
    "network-mode": (lambda t, p: t.update(networkMode="bridge"), "fargate"),
    "value-from": (lambda t, p: _container(t)["secrets"][0].update(valueFrom="deeptempo:production:CLAUDE_API_KEY"), "value-from"),
    "unknown-enum": (lambda t, p: _container(t)["portMappings"][0].update(protocol="tcpx"), "ecs-enum"),
    "health-range": (lambda t, p: _container(t)["healthCheck"].update(interval=1), "healthcheck"),
    "unknown-field": (lambda t, p: t.update(cpuUnits="512"), "ecs-model"),
    "policy-star": (lambda t, p: p["Statement"][0].update(Resource="*"), "least-privilege"),
    "policy-missing-one": (lambda t, p: p["Statement"][0]["Resource"].pop(), "least-privilege"),
    "policy-more": (lambda t, p: p["Statement"][0]["Resource"].append(
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:someone-else-??????"), "least-privilege"),
    "required-missing": (lambda t, p: _container(t).update(secrets=[s for s in _container(t)["secrets"]
                                                                    if s["name"] not in ("CLAUDE_API_KEY", "ANTHROPIC_API_KEY")]),
                         "secret-reachable"),
    "writable-root": (lambda t, p: _container(t).update(readonlyRootFilesystem=False), "read-only-root"),
    "no-writable-state": (lambda t, p: _container(t).update(mountPoints=[m for m in _container(t)["mountPoints"]
                                                                          if m["sourceVolume"] != "state"]), "writable-state"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_verify_fails_naming_the_rule_on_a_copy_broken_one_way(tmp_path, case):
    change, rule = BROKEN[case]
    task, policy = copy.deepcopy(json.load(open(TASK_DEFINITION))), copy.deepcopy(json.load(open(POLICY)))
    change(task, policy)
    if case == "required-missing":  # the policy follows the task definition, so only the rule under test fails
        keep = {parse_value_from(s["valueFrom"]).resource + "-??????" for s in _container(task)["secrets"]}
        policy["Statement"][0]["Resource"] = sorted(keep)
    task_path = write(tmp_path / "task.json", json.dumps(task))
    policy_path = write(tmp_path / "policy.json", json.dumps(policy))
    # A valueFrom that is no ARN also leaves the policy granting what nothing reads: judge it alone.
    code, report, stderr = verify(task_path, None if case == "value-from" else policy_path)
    assert code == 78, stderr
    errors = [f["rule"] for f in report["findings"] if f["level"] == "error"]
    assert errors and all(found == rule for found in errors), errors
    assert CANARY_PASSWORD not in json.dumps(report) + stderr


@pytest.mark.parametrize("text, message", [
    ('{"family": "x",\n  "cpu": }', "not valid JSON at line 2"),
    ("[1, 2]", "must be a JSON object"),
])
def test_a_task_definition_that_is_not_one_is_a_configuration_error(tmp_path, text, message):
    code, report, stderr = verify(write(tmp_path / "task.json", text))  # --json: the refusal is a finding in it
    assert code == 78 and "Traceback" not in stderr
    assert [f["rule"] for f in report["findings"]] == ["input"] and message in report["findings"][0]["message"]


@pytest.mark.parametrize("value_from, expected", [
    ("arn:aws:secretsmanager:us-east-1:111122223333:secret:app/prod:KEY:AWSPREVIOUS:", ("secretsmanager", "KEY", "AWSPREVIOUS", "")),
    ("arn:aws:secretsmanager:us-east-1:111122223333:secret:app/prod-AbCdEf", ("secretsmanager", "", "", "")),
    ("arn:aws:ssm:eu-west-1:111122223333:parameter/app/prod/KEY", ("ssm", "", "", "")),
    ("/app/prod/KEY", ("ssm", "", "", "")),
])
def test_value_from_forms(value_from, expected):
    ref = parse_value_from(value_from)
    assert (ref.service, ref.json_key, ref.version_stage, ref.version_id) == expected


@pytest.mark.parametrize("value_from", ["arn:aws:s3:::bucket/key", "arn:aws:secretsmanager:us-east-1:1234:secret:x", ""])
def test_what_is_not_a_value_from(value_from):
    assert parse_value_from(value_from) is None
