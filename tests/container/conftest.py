"""The images, each built once per test session: the kit's from a copy of the project with secrets
planted in it (the canary test then proves none reached a layer). Containers start through
testcontainers (tests/container/containers.py), published on 127.0.0.1 only, labelled with the run's
name and removed after each test; only the tests of `local` and `smoke` drive the kit's own runner."""

import os
import shutil
import subprocess

import pytest

from deeptempo_deploy.platforms.runner import DockerRunner
from tests.container.containers import TestContainer
from tests.container.images import (
    BACKEND_IMAGE,
    BUILD_CANARY,
    BUILDER_STAGES,
    IMAGE,
    NODE_BACKEND_IMAGE,
    PLANTED_SECRETS,
    POSTGRES_IMAGE,
    build_image,
    docker_build,
    record_build,
)
from tests.helpers import BACKEND_SOURCE, PROJECT, TEST_LABEL

# testcontainers' reaper (Ryuk) is an image this machine cannot pull: the run's label finds what is left.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/container/" in str(item.fspath):
            item.add_marker(pytest.mark.container)


def _engine_answers():
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.fixture(scope="session")
def docker_engine():
    if os.environ.get("DEEPTEMPO_SKIP_CONTAINER_TESTS") == "1":
        pytest.skip("container tests opted out with DEEPTEMPO_SKIP_CONTAINER_TESTS=1")
    if not _engine_answers():
        pytest.fail("no Docker engine answers: run scripts/test (it starts one), or opt out with "
                    "DEEPTEMPO_SKIP_CONTAINER_TESTS=1 on a laptop", pytrace=False)


@pytest.fixture(scope="session")
def build_context(tmp_path_factory):
    context = tmp_path_factory.mktemp("build-context")
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info")
    shutil.copytree(PROJECT, context, dirs_exist_ok=True, ignore=ignore)
    for relative in PLANTED_SECRETS:
        path = context / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"CLAUDE_API_KEY={BUILD_CANARY}\n")
    return context


@pytest.fixture(scope="session")
def image(docker_engine, build_context):
    build_image(build_context, IMAGE)
    yield IMAGE
    # This run's image goes (unless .ci/run keeps it for the benchmarks, DEEPTEMPO_KEEP_TEST_IMAGE=1), and
    # with it the untagged builds this run left: only this run's, by its label.
    if os.environ.get("DEEPTEMPO_KEEP_TEST_IMAGE") != "1":
        subprocess.run(["docker", "rmi", "-f", IMAGE], capture_output=True)
    subprocess.run(["docker", "image", "prune", "-f", "--filter", f"label={TEST_LABEL}"], capture_output=True)
    for stage in BUILDER_STAGES:  # without -f: one another run still builds on stays (docker refuses)
        subprocess.run(["docker", "rmi", stage], capture_output=True)


BACKEND_RECIPE = os.path.join(PROJECT, "examples", "deeptempo-backend", "Dockerfile")
# What the README tells a user to keep out of the backend's build context (adding it to a copy is no patch).
BACKEND_DOCKERIGNORE = ".env*\n.git\nvenv\nfrontend/node_modules\n"


@pytest.fixture(scope="session")
def backend_context(tmp_path_factory):
    """A copy of the real backend's checkout (../shared/backend, read-only and unchanged), with the
    .dockerignore the README asks for."""
    if not os.path.isdir(os.path.join(BACKEND_SOURCE, "backend")):
        pytest.fail(f"the DeepTempo backend's source is not at {BACKEND_SOURCE} (DEEPTEMPO_BACKEND_SOURCE)", pytrace=False)
    context = tmp_path_factory.mktemp("backend") / "deeptempo-ai-soc"
    shutil.copytree(BACKEND_SOURCE, context, ignore=shutil.ignore_patterns("__pycache__", "node_modules", ".git"))
    (context / ".dockerignore").write_text(BACKEND_DOCKERIGNORE)
    return context


@pytest.fixture(scope="session")
def backend_image(image, backend_context):
    """The DeepTempo backend's image, built once per run with the README's recipe on this run's kit image."""
    seconds, _ = docker_build(backend_context, BACKEND_IMAGE, "--build-arg", f"KIT_IMAGE={image}", dockerfile=BACKEND_RECIPE)
    # The recipe's `pip check`, again in the image: a build step the engine's cache answers prints nothing.
    checked = subprocess.run(["docker", "run", "--rm", "--network", "none", "--label", TEST_LABEL, "--entrypoint",
                              "/opt/venv/bin/python", BACKEND_IMAGE, "-m", "pip", "check"],
                             capture_output=True, text=True, timeout=300)
    assert "No broken requirements found" in checked.stdout, checked.stdout[-2000:] + checked.stderr[-2000:]
    record_build("backend", seconds, BACKEND_IMAGE)
    yield BACKEND_IMAGE
    if os.environ.get("DEEPTEMPO_KEEP_TEST_IMAGE") != "1":
        subprocess.run(["docker", "rmi", "-f", BACKEND_IMAGE], capture_output=True)


@pytest.fixture(scope="session")
def node_backend_image(image, backend_image, backend_context):
    """The recipe with MCP_NODE_SERVERS=true: the same layers up to Node and the two npx MCP servers."""
    docker_build(backend_context, NODE_BACKEND_IMAGE, "--build-arg", f"KIT_IMAGE={image}", "--build-arg",
                 "MCP_NODE_SERVERS=true", dockerfile=BACKEND_RECIPE)
    yield NODE_BACKEND_IMAGE
    subprocess.run(["docker", "rmi", "-f", NODE_BACKEND_IMAGE], capture_output=True)


@pytest.fixture(scope="session")
def postgres_image(docker_engine):
    """The PostgreSQL 15 stand-in for the official postgres:15-bookworm (tests/images/postgres)."""
    docker_build(os.path.join(PROJECT, "tests", "images", "postgres"), POSTGRES_IMAGE, "--build-arg",
                 f"BASE_IMAGE={os.environ.get('BASE_IMAGE', 'python:3.12-slim')}")
    yield POSTGRES_IMAGE
    if os.environ.get("DEEPTEMPO_KEEP_TEST_IMAGE") != "1":
        subprocess.run(["docker", "rmi", "-f", POSTGRES_IMAGE], capture_output=True)


@pytest.fixture
def runner(docker_engine):
    """The kit's own Docker runner: only the tests of `local` and `smoke`, which drive it, use it."""
    with DockerRunner("test") as docker_runner:
        yield docker_runner


@pytest.fixture
def start(image, docker_engine):
    """start(env=..., command=..., publish=..., image_tag=..., volumes=..., **docker settings) -> a started
    TestContainer of the kit's image (or `image_tag`), removed when the test ends."""
    started = []

    def start_container(env=None, publish=6987, image_tag=None, **settings):
        container = TestContainer(image_tag or image, env=env, publish=publish, **settings)
        started.append(container)
        return container.start()

    yield start_container
    for container in started:
        container.stop()
