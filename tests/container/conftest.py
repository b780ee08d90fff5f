"""The image, built once per test session from a copy of the project with secrets planted in it (the
canary test then proves none reached a layer). Containers run through the kit's own Docker runner
(deeptempo_deploy.platforms.runner), published on 127.0.0.1 only, and are removed after each test."""

import os
import shutil
import subprocess

import pytest

from deeptempo_deploy.platforms.runner import ContainerSpec, DockerRunner
from tests.container.images import (
    BUILD_CANARY,
    BUILDER_STAGES,
    IMAGE,
    PLANTED_SECRETS,
    POSTGRES_IMAGE,
    build_image,
    build_postgres_image,
)
from tests.helpers import PROJECT, TEST_LABEL

# testcontainers' reaper (Ryuk) is an image no registry serves here: every test removes what it started,
# and everything carries this run's label for the leftover checks.
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


@pytest.fixture(scope="session")
def postgres_image(docker_engine):
    """The PostgreSQL stand-in, built once per session and tagged with this run's name; removed at the end
    unless DEEPTEMPO_KEEP_TEST_IMAGE=1 (.ci/run keeps it for the benchmarks)."""
    build_postgres_image(POSTGRES_IMAGE)
    yield POSTGRES_IMAGE
    if os.environ.get("DEEPTEMPO_KEEP_TEST_IMAGE") != "1":
        subprocess.run(["docker", "rmi", "-f", POSTGRES_IMAGE], capture_output=True)


@pytest.fixture
def runner(docker_engine):
    with DockerRunner("test") as docker_runner:
        yield docker_runner


@pytest.fixture
def start(image, runner):
    """start(env=..., command=..., publish=..., image_tag=..., **ContainerSpec fields) -> RunningContainer."""

    def start_container(env=None, publish=True, image_tag=None, **fields):
        spec = ContainerSpec(image_tag or image, environment=env or {}, publish=(6987,) if publish else (), **fields)
        return runner.start(spec)

    return start_container
