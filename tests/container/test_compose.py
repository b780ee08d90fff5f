"""The Compose deployment on a real engine with Compose v2: every shipped file validated three ways,
`up --wait` healthy with an env-file and with Docker secrets, state surviving `down`/`up`, a missing
secret named in the logs, and `verify compose` failing on copies broken one way each. Each test has a
project of its own, published on 127.0.0.1 only, and removes it with `down -v`."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import pytest
import yaml
from testcontainers.compose import DockerCompose

from tests.helpers import CANARY_CLAUDE, CANARY_PASSWORD, DEPLOY, PROJECT, free_port, write
from tests.readme import block, sudo_shims

COMPOSE_FILE = os.path.join(PROJECT, "docker-compose.yml")
SECRETS_OVERRIDE = os.path.join(PROJECT, "docker-compose.secrets.yml")
DATABASE_OVERRIDE = os.path.join(PROJECT, "docker-compose.database.yml")
SHIPPED = [[COMPOSE_FILE], [COMPOSE_FILE, SECRETS_OVERRIDE], [COMPOSE_FILE, DATABASE_OVERRIDE],
           [COMPOSE_FILE, SECRETS_OVERRIDE, DATABASE_OVERRIDE]]


class Project(DockerCompose):
    """One Compose project, through testcontainers' DockerCompose: its own name, port and variables (in
    an env-file of its own, so the process's environment is left alone), removed with `down -v`."""

    def __init__(self, image, files=(COMPOSE_FILE,), **variables):
        self.name = f"deeptempo-test-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.variables_file = tempfile.NamedTemporaryFile("w", prefix="compose-", suffix=".env", delete=False)
        values = {"COMPOSE_PROJECT_NAME": self.name, "DEEPTEMPO_IMAGE": image, "DEEPTEMPO_PORT": str(self.port), **variables}
        self.variables_file.write("".join(f"{name}={value}\n" for name, value in values.items()))
        self.variables_file.close()
        super().__init__(PROJECT, compose_file_name=list(files), env_file=self.variables_file.name, wait=True)

    def compose(self, *args, check=True, timeout=180):
        result = subprocess.run([*self.docker_compose_command(), *args], capture_output=True, text=True, cwd=PROJECT,
                                timeout=timeout)
        if check:
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        return result

    def up(self, check=True):
        return self.compose("up", "-d", "--wait", "--wait-timeout", "60", "--no-build", check=check)

    def down(self):
        self.compose("down", "-v", "--remove-orphans", check=False)
        os.unlink(self.variables_file.name)

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            return response.status, response.read().decode()

    def container_state(self):
        container_id = self.compose("ps", "-aq").stdout.split()[0]
        return json.loads(subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True,
                                         check=True).stdout)[0]["State"]


@pytest.fixture
def project(image):
    started = []

    def make(*args, **kwargs):
        started.append(Project(image, *args, **kwargs))
        return started[-1]

    yield make
    for each in started:
        each.down()


@pytest.fixture
def canary_env_file(shared_tmp):
    path = write(os.path.join(shared_tmp, "app.env"), f"CLAUDE_API_KEY={CANARY_CLAUDE}\nSPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    os.chown(path, 10001, 10001)  # Compose reads it on the host; the mode is the guide's 0600
    return path


# --- the shipped files ---------------------------------------------------------------------------

@pytest.mark.parametrize("files", SHIPPED, ids=["env-file", "docker-secrets", "database", "docker-secrets-and-database"])
def test_shipped_files_pass_compose_config_the_compose_schema_and_verify(docker_engine, files):
    command = ["docker", "compose"] + [arg for path in files for arg in ("-f", path)] + ["config", "--quiet"]
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    schema = subprocess.run([os.path.join(os.path.dirname(sys.executable), "check-jsonschema"), "--builtin-schema",
                             "vendor.compose-spec", *files], capture_output=True, text=True)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    verified = subprocess.run([*DEPLOY, "verify", "compose", *files, "--json"], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["ok"] is True


# --- running it ----------------------------------------------------------------------------------

def test_up_with_an_env_file_turns_healthy_hardened_and_leaks_nothing(project, canary_env_file):
    deployment = project(DEEPTEMPO_COMPOSE_ENV_FILE=canary_env_file)
    deployment.up()
    status, body = deployment.get("/api/health")
    assert status == 200 and json.loads(body)["status"] == "healthy"
    secrets = json.loads(deployment.get("/api/secrets/status")[1])["secrets"]
    assert secrets["CLAUDE_API_KEY"]["source"] == "environment"  # Compose's env_file arrives as environment
    logs = deployment.compose("logs").stdout
    assert CANARY_CLAUDE not in logs and CANARY_PASSWORD not in logs and "WARN  tini" not in logs


def test_state_written_by_the_service_survives_down_and_up(project, canary_env_file):
    deployment = project(DEEPTEMPO_COMPOSE_ENV_FILE=canary_env_file)
    deployment.up()
    marker = f"saved-{uuid.uuid4().hex}"
    write_state = f"import pathlib; (pathlib.Path.home() / '.deeptempo' / 'general_config.json').write_text('{marker}')"
    deployment.compose("exec", "-T", "deeptempo", "python", "-c", write_state)
    deployment.compose("down")  # no -v: the named volume stays
    deployment.up()
    read_state = "import pathlib; print((pathlib.Path.home() / '.deeptempo' / 'general_config.json').read_text())"
    assert deployment.compose("exec", "-T", "deeptempo", "python", "-c", read_state).stdout.strip() == marker


def test_an_env_file_without_the_claude_key_exits_78_naming_it(project, shared_tmp):
    env_file = write(os.path.join(shared_tmp, "incomplete.env"), f"SPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    deployment = project(DEEPTEMPO_COMPOSE_ENV_FILE=env_file)
    assert deployment.up(check=False).returncode != 0  # never healthy
    # unless-stopped restarts it with a growing delay: between two starts its state holds the last exit.
    deadline = time.monotonic() + 30
    state = deployment.container_state()
    while not (state["Status"] in ("restarting", "exited") and state["ExitCode"] == 78):
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
        state = deployment.container_state()
    logs = deployment.compose("logs").stdout
    assert "CLAUDE_API_KEY: is not set" in logs
    assert CANARY_PASSWORD not in logs and "Traceback" not in logs


def readme_secrets_commands():
    """The README's commands that create the Docker secrets files (all but the `docker compose` line)."""
    return "\n".join(line for line in block("compose-secrets").splitlines() if not line.startswith("docker compose"))


def test_the_docker_secrets_variant_with_files_made_as_the_readme_says(project, shared_tmp):
    shutil.copy(SECRETS_OVERRIDE, shared_tmp)
    made = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_secrets_commands()], cwd=shared_tmp,
                          env={**os.environ, "CLAUDE_API_KEY": CANARY_CLAUDE,
                               "PATH": f"{sudo_shims(os.path.join(shared_tmp, 'bin'))}:{os.environ['PATH']}"},
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    secrets_dir = os.path.join(shared_tmp, "secrets")
    assert sorted(os.listdir(secrets_dir)) == sorted(yaml.safe_load(open(SECRETS_OVERRIDE))["secrets"])
    deployment = project(files=(COMPOSE_FILE, SECRETS_OVERRIDE), DEEPTEMPO_SECRETS_HOST_DIR=secrets_dir)
    deployment.up()
    secrets = json.loads(deployment.get("/api/secrets/status")[1])["secrets"]
    assert secrets["CLAUDE_API_KEY"]["source"] == "secrets-dir" and secrets["SPLUNK_PASSWORD"]["set"] is False
    inspect = subprocess.run(["docker", "inspect", deployment.compose("ps", "-q").stdout.split()[0]],
                             capture_output=True, text=True, check=True).stdout
    assert CANARY_CLAUDE not in inspect and CANARY_CLAUDE not in deployment.compose("logs").stdout


def test_a_secret_file_the_service_user_cannot_read_is_named_with_the_fix(project, shared_tmp):
    secrets_dir = os.path.join(shared_tmp, "secrets")
    os.mkdir(secrets_dir, 0o700)
    for name in yaml.safe_load(open(SECRETS_OVERRIDE))["secrets"]:
        write(os.path.join(secrets_dir, name), "", mode=0o444)
    write(os.path.join(secrets_dir, "claude_api_key"), CANARY_CLAUDE + "\n", mode=0o400)  # root's, 0400
    deployment = project(files=(COMPOSE_FILE, SECRETS_OVERRIDE), DEEPTEMPO_SECRETS_HOST_DIR=secrets_dir)
    deployment.up(check=False)
    logs = deployment.compose("logs").stdout
    assert "secret file /run/secrets/claude_api_key: permission denied (the process runs as uid 10001" in logs
    assert "chown 10001 FILE on the host, keeping it 0600" in logs


# --- verify compose on copies broken one way each ----------------------------------------------------

def _broken(tmp_path, change):
    document = yaml.safe_load(open(COMPOSE_FILE))
    change(document["services"]["deeptempo"])
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    shutil.copy(SECRETS_OVERRIDE, tmp_path / "docker-compose.secrets.yml")
    return path


def _without_secret_delivery(service):
    service.pop("env_file")


BROKEN = {
    "literal-secret": (lambda s: s["environment"].update(CLAUDE_API_KEY=CANARY_CLAUDE), "no-literal-secret"),
    "all-interfaces": (lambda s: s.update(ports=["6987:6987"]), "loopback-only"),
    "read-only-removed": (lambda s: s.pop("read_only"), "read-only-root"),
    "required-secret-unreachable": (_without_secret_delivery, "secret-reachable"),
    "no-writable-state": (lambda s: s.update(volumes=[v for v in s["volumes"] if ".deeptempo" not in v]), "writable-state"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_verify_compose_fails_naming_the_rule(docker_engine, tmp_path, case):
    change, rule = BROKEN[case]
    path = _broken(tmp_path, change)
    result = subprocess.run([*DEPLOY, "verify", "compose", str(path), "--json"], capture_output=True, text=True)
    assert result.returncode == 78, result.stdout + result.stderr
    errors = [f["rule"] for f in json.loads(result.stdout)["findings"] if f["level"] == "error"]
    assert errors and all(found == rule for found in errors), errors
    assert CANARY_CLAUDE not in result.stdout + result.stderr
