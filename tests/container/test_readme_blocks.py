"""The README's blocks that need a Docker engine, run as a user types them. What a test must change is
named where it changes it: this run's image tag and names (another run may share the engine), a free
host port, `/etc/deeptempo` under this test's directory (a test does not write the host's /etc), and
`sudo`, which runs its command (the tests are root already)."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tests.container.images import BUILDER_STAGES, builder_stages
from tests.helpers import CANARY_CLAUDE, PROJECT, RUN, TEST_LABEL, free_port, write
from tests.readme import block, commands, sudo_shims

LABELS = f"--label {TEST_LABEL} --label io.deeptempo.run={RUN}"
STATUS = ("/opt/venv/bin/python -c \"import urllib.request as u; "
          "print(u.urlopen('http://127.0.0.1:6987/api/secrets/status', timeout=2).read().decode())\"")


def shell(line, cwd, environment, timeout=600):
    return subprocess.run(["bash", "-euo", "pipefail", "-c", line], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=timeout)


def the_kits_image(line, tag):
    return re.sub(r"(?<![\w/.:-])deeptempo-ai-soc(?::0\.1\.0)?(?![\w:.-])", tag, line)


def secrets_status(name, timeout=60):
    """The status page of a container started in the background, once it answers."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(["docker", "exec", name, "sh", "-c", STATUS], capture_output=True, text=True)
        if result.returncode == 0:
            return json.loads(result.stdout)["secrets"]
        state = subprocess.run(["docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name],
                               capture_output=True, text=True).stdout.strip()
        if state.startswith("exited") or time.monotonic() > deadline:
            logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
            raise AssertionError(f"{name}: {state}\n{logs.stdout[-1500:]}{logs.stderr[-1500:]}")
        time.sleep(0.3)


@pytest.fixture
def workdir(tmp_path, clean_environment):
    """A user's directory: the Compose secrets files made by the README's recipe, a key file and an
    env-file made as the Docker section says (uid 10001's, 0600), and ~/.deeptempo/.env."""
    shutil.copy(os.path.join(PROJECT, "docker-compose.secrets.yml"), tmp_path)
    environment = {**os.environ, "CLAUDE_API_KEY": CANARY_CLAUDE, "HOME": str(clean_environment),
                   "PATH": f"{sudo_shims(str(tmp_path / 'bin'))}:{os.environ['PATH']}"}
    recipe = "\n".join(line for line in block("compose-secrets").splitlines() if not line.startswith("docker compose"))
    made = shell(recipe, tmp_path, environment)
    assert made.returncode == 0, made.stderr
    for path in (tmp_path / "claude.key", tmp_path / "etc" / "deeptempo" / "app.env"):
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, CANARY_CLAUDE if path.name == "claude.key" else f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
        os.chown(path, 10001, 10001)
    (clean_environment / ".deeptempo").mkdir(mode=0o700)
    write(clean_environment / ".deeptempo" / ".env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    return tmp_path, environment


# The source each `docker run` line of the block serves CLAUDE_API_KEY from.
DOCKER_RUN_SOURCES = ["environment", "environment", "secrets-dir", "CLAUDE_API_KEY_FILE", "env-file", "environment"]


def test_the_docker_block_runs_as_written(image, workdir):
    cwd, environment = workdir
    tag = f"deeptempo-ai-soc:readme-{RUN}"
    build, *runs, check = commands("docker-run")
    names = []
    try:
        base = f" --build-arg BASE_IMAGE={os.environ['BASE_IMAGE']}" if os.environ.get("BASE_IMAGE") else ""
        built = shell(the_kits_image(build, tag).replace("docker build ", f"docker build --force-rm {LABELS} --network host{base} ")
                      .replace(" .", f" {PROJECT}"), cwd, {**environment, "DOCKER_BUILDKIT": "0"})
        assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
        BUILDER_STAGES.update(builder_stages(built.stdout))
        assert len(runs) == len(DOCKER_RUN_SOURCES)
        for number, (line, source) in enumerate(zip(runs, DOCKER_RUN_SOURCES, strict=True)):
            names.append(f"readme-{RUN}-{number}")
            typed = the_kits_image(line, tag).replace("127.0.0.1:6987:6987", f"127.0.0.1:{free_port()}:6987")
            typed = typed.replace("/etc/deeptempo/", f"{cwd}/etc/deeptempo/")
            started = shell(typed.replace("docker run ", f"docker run -d --name {names[-1]} {LABELS} ", 1), cwd, environment)
            assert started.returncode == 0, (line, started.stderr)
            secrets = secrets_status(names[-1])
            assert secrets["CLAUDE_API_KEY"]["source"] == source, (line, secrets["CLAUDE_API_KEY"])
            inspected = subprocess.run(["docker", "inspect", names[-1]], capture_output=True, text=True).stdout
            if source != "environment":
                assert CANARY_CLAUDE not in inspected, line
            logs = subprocess.run(["docker", "logs", names[-1]], capture_output=True, text=True)
            assert CANARY_CLAUDE not in logs.stdout + logs.stderr and "Traceback" not in logs.stderr, line
        # The last line: `check` in a container without any secret names the missing one and exits 78.
        checked = shell(the_kits_image(check, tag).replace("docker run ", f"docker run --rm {LABELS} ", 1), cwd,
                        {key: value for key, value in environment.items() if key != "CLAUDE_API_KEY"})
        assert checked.returncode == 78 and "CLAUDE_API_KEY: is not set" in checked.stdout + checked.stderr, checked
    finally:
        if names:
            subprocess.run(["docker", "rm", "-f", "-v", *names], capture_output=True)
        subprocess.run(["docker", "rmi", tag], capture_output=True)


def test_a_build_that_cannot_pull_its_base_names_the_fix(docker_engine, tmp_path):
    """The classic builder (Docker 20.10's) prints the step before the failing FROM: the hint."""
    result = subprocess.run(["docker", "build", "--force-rm", "--label", TEST_LABEL, "--build-arg",
                             f"BASE_IMAGE=deeptempo-no-such-base-{RUN}:none", "-t", f"deeptempo-unbuilt:{RUN}", PROJECT],
                            capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "0"}, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    hint = output.index("IF_THE_BASE_CANNOT_BE_PULLED=")
    assert "--build-arg BASE_IMAGE=<any Debian image with Python >= 3.11>" in output[hint:]
    assert output.index("FROM ${BASE_IMAGE}") > hint  # the step whose pull fails comes after it


def test_the_compose_env_file_block_runs_as_written(image, tmp_path):
    etc = tmp_path / "etc" / "deeptempo"
    lines = [line.replace("/etc/deeptempo", str(etc)) for line in block("compose-env-file").splitlines()]
    project = f"deeptempo-readme-{RUN}".lower()
    port = free_port()
    environment = {**os.environ, "PATH": f"{sudo_shims(str(tmp_path / 'bin'))}:{os.environ['PATH']}",
                   "README_EDITED_TEXT": f"CLAUDE_API_KEY={CANARY_CLAUDE}\n", "COMPOSE_PROJECT_NAME": project,
                   "DEEPTEMPO_IMAGE": image, "DEEPTEMPO_PORT": str(port), "DEEPTEMPO_COMPOSE_ENV_FILE": str(etc / ".env")}
    try:
        result = shell("\n".join(lines), PROJECT, environment)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert oct(os.stat(etc / ".env").st_mode & 0o777) == "0o600"
        assert CANARY_CLAUDE not in result.stdout + result.stderr
        import urllib.request

        status = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/secrets/status", timeout=5).read())
        assert status["secrets"]["CLAUDE_API_KEY"]["set"] is True
    finally:
        shell("docker compose down -v --remove-orphans", PROJECT, environment)


def test_the_kubernetes_ci_block_runs_as_written(image, tmp_path):
    env_file = write(tmp_path / "ci.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    environment = {**os.environ, "DEEPTEMPO_RUN_LABEL": RUN, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    for line in commands("k8s-in-ci"):
        typed = line.replace("deeptempo-ai-soc:ci", image).replace(" ci.env ", f" {env_file} ")
        result = shell(typed, PROJECT, environment)
        assert result.returncode == 0, (line, result.stdout[-2000:] + result.stderr[-2000:])
        assert CANARY_CLAUDE not in result.stdout + result.stderr


def test_the_smoke_block_runs_as_written(image, tmp_path):
    """A fresh virtual environment, the kit installed from its checkout as the block says, an image FROM
    the kit's, and each smoke line."""
    (tmp_path / "deeptempo-deploy").symlink_to(PROJECT)
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    tag = f"my-soc:{RUN}"
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(f"FROM {image}\nLABEL org.opencontainers.image.title=my-soc\n")
    environment = {**os.environ, "PATH": f"{tmp_path / 'venv' / 'bin'}:{os.environ['PATH']}", "DEEPTEMPO_RUN_LABEL": RUN}
    environment.pop("PYTHONPATH", None)
    install, build, *smokes = commands("smoke")
    try:
        installed = shell(install.replace("pip install ", "pip install -q "), tmp_path, environment)
        assert installed.returncode == 0, installed.stderr[-2000:]
        built = shell(build.replace("my-soc:ci", tag).replace("docker build ", f"docker build {LABELS} "), app, environment)
        assert built.returncode == 0, built.stderr[-2000:]
        for line in smokes:
            result = shell(line.replace("my-soc:ci", tag), app, environment)
            assert result.returncode == 0, (line, result.stdout[-2000:] + result.stderr[-2000:])
            if "--json" in line or "-o json" in line:
                assert json.loads(result.stdout)["ok"] is True
    finally:
        subprocess.run(["docker", "rmi", tag], capture_output=True)
