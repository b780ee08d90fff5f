"""The backend (a stand-in shaped like it) built into an image with examples/deeptempo-backend/Dockerfile
FROM the kit's image, then: `smoke` passes, read-only check included; the Compose file serves it and its
state and JSON storage survive `down`/`up`; `local k8s` and `local ecs` turn ready with it."""

import json
import os
import shutil
import subprocess
import urllib.request

import pytest
from standin_backend import make_backend

from tests.container.test_compose import Project
from tests.helpers import CANARY_CLAUDE, CANARY_DATABASE, DEPLOY, PROJECT, RUN, TEST_LABEL, production_overlay_files, write

BACKEND_IMAGE = f"deeptempo-test-backend:{RUN}"


@pytest.fixture(scope="module")
def backend_image(image, tmp_path_factory):
    repository = make_backend(str(tmp_path_factory.mktemp("backend-repository")))
    result = subprocess.run(["docker", "build", "--force-rm", "--label", TEST_LABEL, "-q", "--build-arg", f"KIT_IMAGE={image}", "-f",
                             os.path.join(PROJECT, "examples", "deeptempo-backend", "Dockerfile"), "-t", BACKEND_IMAGE,
                             repository], capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "0"}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    yield BACKEND_IMAGE
    subprocess.run(["docker", "rmi", "-f", BACKEND_IMAGE], capture_output=True)


def test_smoke_passes_on_the_backend_image_read_only_check_included(backend_image):
    result = subprocess.run([*DEPLOY, "smoke", backend_image, "--json"], capture_output=True, text=True, timeout=300)
    report = json.loads(result.stdout)
    assert result.returncode == 0, json.dumps(report, indent=2) + result.stderr
    assert {check["name"] for check in report["checks"] if check["ok"]} >= {"healthy", "hardened"}


def test_compose_serves_the_backend_and_keeps_its_state_and_data(backend_image, shared_tmp):
    env_file = write(os.path.join(shared_tmp, "app.env"), f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    deployment = Project(backend_image, DEEPTEMPO_COMPOSE_ENV_FILE=env_file)
    try:
        deployment.up()
        assert deployment.get("/api/health")[1] and json.loads(deployment.get("/api/config/claude")[1]) == {"configured": True}
        def save():
            request = urllib.request.Request(f"http://127.0.0.1:{deployment.port}/api/cases", method="POST")
            with urllib.request.urlopen(request, timeout=5) as answer:
                return json.loads(answer.read())["saved"]

        assert save() == 1
        deployment.compose("down")
        deployment.up()
        assert save() == 2  # the JSON storage survived down/up
        log = deployment.compose("exec", "-T", "deeptempo", "sh", "-c", "test -f ~/.deeptempo/api.log && echo kept")
        assert log.stdout.strip() == "kept"
    finally:
        deployment.compose("down", "-v", check=False)


def test_local_k8s_and_local_ecs_turn_ready_with_it(backend_image, tmp_path):
    # The production overlay and the task name a database (none answers here: the stand-in connects to
    # none), so both carry its password, and the overlay its host (database.env, as a user writes it).
    env_file = write(tmp_path / "ci.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\nPOSTGRES_PASSWORD={CANARY_DATABASE}\n")
    tree = tmp_path / "k8s"
    shutil.copytree(os.path.join(PROJECT, "k8s"), tree)
    production_overlay_files(tree / "overlays" / "production")
    result = subprocess.run([*DEPLOY, "local", "k8s", str(tree / "overlays" / "production"), "--env-file", str(env_file),
                             "--image", backend_image], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    rendered = subprocess.run([*DEPLOY, "render", "ecs", "--only", "CLAUDE_API_KEY", "--output-dir", str(tmp_path)],
                              capture_output=True, text=True)
    assert rendered.returncode == 0, rendered.stderr
    mapping = write(tmp_path / "secrets.json", json.dumps({"CLAUDE_API_KEY": CANARY_CLAUDE, "POSTGRES_PASSWORD": CANARY_DATABASE}))
    result = subprocess.run([*DEPLOY, "local", "ecs", str(tmp_path / "ecs" / "task-definition.json"), "--secrets", str(mapping),
                             "--image", backend_image], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert CANARY_CLAUDE not in result.stdout + result.stderr and CANARY_DATABASE not in result.stdout + result.stderr


def test_the_backends_mcp_servers_start_with_the_python_it_expects(backend_image, start):
    """The backend runs each Python MCP server with <repository>/venv/bin/python: the recipe makes that
    the kit's environment, so its own status endpoint counts every server connected."""
    running = start(image_tag=backend_image, env={"CLAUDE_API_KEY": CANARY_CLAUDE})
    running.wait_healthy(60)
    status, body = running.get("/api/mcp/status", timeout=60)
    assert status == 200 and json.loads(body) == {"connected": 2, "total": 2}, body
