"""`deeptempo-deploy local ecs` for each of the three layouts, with a mapping file and with the real
secrets APIs (moto's server on 127.0.0.1, started here, holding the secrets, the JSON secret and the
SSM parameters); bad input named, never a value."""

import json
import subprocess

import pytest

from tests.aws_standin import REGION
from tests.helpers import CANARY_CLAUDE, CANARY_DATABASE, CANARY_PASSWORD, DEPLOY, RUN_FILTER, free_port, write

SECRETS = {"CLAUDE_API_KEY": CANARY_CLAUDE, "SPLUNK_PASSWORD": CANARY_PASSWORD}
LAYOUTS = ["secret-per-variable", "json-secret", "ssm"]


@pytest.fixture(scope="module")
def stored_secrets(moto):
    """Every layout's secrets in moto: per-variable secrets, one JSON secret, SSM SecureStrings."""
    import boto3

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    secretsmanager = session.client("secretsmanager", endpoint_url=moto)
    ssm = session.client("ssm", endpoint_url=moto)
    for name, value in SECRETS.items():
        secretsmanager.create_secret(Name=f"local/per-variable/{name}", SecretString=value)
        ssm.put_parameter(Name=f"/local/ssm/{name}", Value=value, Type="SecureString")
    secretsmanager.create_secret(Name="local/json", SecretString=json.dumps(SECRETS))
    # The database's credential secret, in RDS's shape: the task reads its `password` key.
    secretsmanager.create_secret(Name="local/database", SecretString=json.dumps({"username": "deeptempo",
                                                                                "password": CANARY_DATABASE}))
    return {"secret-per-variable": "local/per-variable", "json-secret": "local/json", "ssm": "local/ssm"}


def render(tmp_path, layout, name, *database):
    """The task definition of a layout; without a database unless `database` gives its options."""
    only = [arg for secret in SECRETS for arg in ("--only", secret)]
    result = subprocess.run([*DEPLOY, "render", "ecs", "--layout", layout, "--name", name, *only,
                             *(database or ["--no-database"]), "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return tmp_path / "ecs" / "task-definition.json"


def local(task_definition, image, *options, env=None):
    result = subprocess.run([*DEPLOY, "local", "ecs", str(task_definition), "--image", image, "--json", "--timeout", "60",
                             *options], capture_output=True, text=True, timeout=180, env=env)
    assert "Traceback" not in result.stderr
    output = result.stdout + result.stderr
    assert CANARY_CLAUDE not in output and CANARY_PASSWORD not in output
    return result.returncode, output


def leftovers():
    return subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.deeptempo.deploy=local-ecs", *RUN_FILTER], capture_output=True,
                          text=True, check=True).stdout.split()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_turns_healthy_from_a_mapping_file(image, tmp_path, stored_secrets, layout):
    task_definition = render(tmp_path, layout, stored_secrets[layout])
    mapping = write(tmp_path / "secrets.json", json.dumps(SECRETS))
    code, output = local(task_definition, image, "--secrets", str(mapping))
    assert code == 0, output
    assert leftovers() == []


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_turns_healthy_from_the_secrets_apis(image, tmp_path, moto, stored_secrets, aws_environment, layout):
    task_definition = render(tmp_path, layout, stored_secrets[layout])
    code, output = local(task_definition, image, "--from-aws", "--endpoint-url", moto)
    assert code == 0, output
    assert leftovers() == []


def test_the_database_password_comes_from_the_password_key_of_its_json_secret(image, tmp_path, moto, stored_secrets,
                                                                              aws_environment):
    """POSTGRES_HOST makes POSTGRES_PASSWORD required: the task turns healthy only when the key resolved."""
    task_definition = render(tmp_path, "secret-per-variable", stored_secrets["secret-per-variable"], "--database-host",
                             "postgres.deeptempo.test", "--database-secret", "local/database")
    (password,) = [s for s in json.loads(task_definition.read_text())["containerDefinitions"][0]["secrets"]
                   if s["name"] == "POSTGRES_PASSWORD"]
    assert password["valueFrom"].endswith(":secret:local/database:password::")
    code, output = local(task_definition, image, "--from-aws", "--endpoint-url", moto)
    assert code == 0, output
    assert CANARY_DATABASE not in output
    assert leftovers() == []


def test_bad_input_is_named_with_its_exit_code(image, tmp_path, moto, stored_secrets, aws_environment):
    task_definition = render(tmp_path, "json-secret", "local/json")
    mapping = write(tmp_path / "partial.json", json.dumps({"CLAUDE_API_KEY": CANARY_CLAUDE}))
    code, output = local(task_definition, image, "--secrets", str(mapping))
    assert code == 78 and "no entry for SPLUNK_PASSWORD" in output
    other = render(tmp_path / "other", "json-secret", "local/per-variable/CLAUDE_API_KEY")  # a plain, non-JSON secret
    code, output = local(other, image, "--from-aws", "--endpoint-url", moto)
    assert code == 78 and "is not a JSON secret" in output
    task = json.loads(task_definition.read_text())
    task["containerDefinitions"][0]["secrets"][1]["valueFrom"] = task["containerDefinitions"][0]["secrets"][1]["valueFrom"].replace(
        ":SPLUNK_PASSWORD::", ":NO_SUCH_KEY::")
    missing_key = write(tmp_path / "missing-key.json", json.dumps(task))
    code, output = local(missing_key, image, "--from-aws", "--endpoint-url", moto)
    assert code == 78 and "has no key NO_SUCH_KEY" in output
    code, output = local(task_definition, image, "--from-aws", "--endpoint-url", f"http://127.0.0.1:{free_port()}")
    assert code == 69 and "cannot be reached" in output
    code, output = local(write(tmp_path / "broken.json", "{not json"), image, "--secrets", str(mapping))
    assert code == 78 and "not valid JSON at line 1" in output
    assert leftovers() == []


def test_a_containers_log_tail_is_masked(image, tmp_path, stored_secrets):
    """An app that prints the values it was given (a validation error quoting its input, a debug dump):
    the log tail local shows is masked, as written and base64'd."""
    import base64

    task = json.loads(render(tmp_path, "secret-per-variable", stored_secrets["secret-per-variable"]).read_text())
    task["containerDefinitions"][0]["entryPoint"] = [
        "sh", "-c", "echo \"input_value='$CLAUDE_API_KEY'\"; printf %s \"$SPLUNK_PASSWORD\" | base64; exit 3"]
    task_definition = write(tmp_path / "leaky.json", json.dumps(task))
    mapping = write(tmp_path / "secrets.json", json.dumps(SECRETS))
    for options in ((), ("--json",)):
        result = subprocess.run([*DEPLOY, "local", "ecs", str(task_definition), "--image", image, "--timeout", "30",
                                 "--secrets", str(mapping), *options], capture_output=True, text=True, timeout=180)
        output = result.stdout + result.stderr
        assert result.returncode == 1 and "exited with code 3" in output, output
        assert "input_value='***'" in output
        for secret in SECRETS.values():
            assert secret not in output and base64.b64encode(secret.encode()).decode() not in output
    assert leftovers() == []


def test_verify_ecs_with_the_image_checks_its_volumes(image):
    """The task's writable mounts sit on VOLUMEs the kit's image declares; an image declaring none (its
    Debian base) fails with one finding per mount."""
    import os

    from tests.helpers import PROJECT

    task = os.path.join(PROJECT, "ecs", "task-definition.json")
    result = subprocess.run([*DEPLOY, "verify", "ecs", task, "--image", image, "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    base = os.environ.get("BASE_IMAGE", "python:3.12-slim")
    result = subprocess.run([*DEPLOY, "verify", "ecs", task, "--image", base, "--json"], capture_output=True, text=True)
    findings = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "image-volumes"]
    assert result.returncode == 78 and len(findings) == 3, result.stdout
    assert {f["message"].split(":")[0] for f in findings} == {"/tmp", "/home/deeptempo/.deeptempo", "/srv/deeptempo/data"}
