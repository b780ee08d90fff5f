"""The image, built once per test session from a copy of the project with secrets planted in it (the
canary test then proves none reached a layer). Containers run through the kit's own Docker runner
(entrypoint.platforms.runner), published on 127.0.0.1 only, and are removed after each test."""

import os
import shutil
import subprocess

import pytest

from entrypoint.platforms.runner import ContainerSpec, DockerRunner
from tests.helpers import PROJECT

IMAGE = "deeptempo-ai-soc:smoke-test"
BUILD_CANARY = "sk-ant-BUILDCONTEXTCANARY0123456789"
# Where a careless build context would carry secrets.
PLANTED_SECRETS = [".env", ".env.production", "entrypoint/.env", "entrypoint/spec/.env.local", "secrets/claude_api_key",
                   "deploy.secret"]
VALID = {"CLAUDE_API_KEY": "sk-ant-smoketest0123456789"}
HARDENED = {"read_only": True, "tmpfs": {"/tmp": "rw,noexec,nosuid,size=16m"}, "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"]}


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


def build_image(context, tag, base=None, target=None):
    """`docker build`; returns its output. The base defaults to $BASE_IMAGE (set by scripts/test)."""
    environment = dict(os.environ)
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode != 0:
        environment["DOCKER_BUILDKIT"] = "0"  # no buildx plugin (Debian's docker.io): the classic builder
    base = base or os.environ.get("BASE_IMAGE", "python:3.12-slim")
    # --network host: the build reaches the package registries the way the host does (a proxy, here).
    command = ["docker", "build", "--force-rm", "--label", "io.deeptempo.test=1", "--progress=plain", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", tag,
               str(context)]
    if target:
        command[-1:-1] = ["--target", target]
    if environment.get("DOCKER_BUILDKIT") == "0":
        command.remove("--progress=plain")
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def build_from_kit(directory, tag, dockerfile, files=None):
    """An image built FROM the kit's, as a user builds theirs: a Dockerfile and files in `directory`."""
    for name, text in {"Dockerfile": dockerfile, **(files or {})}.items():
        (directory / name).write_text(text)
    result = subprocess.run(["docker", "build", "--force-rm", "--label", "io.deeptempo.test=1", "-q", "-t", tag, str(directory)], capture_output=True, text=True,
                            env={**os.environ, "DOCKER_BUILDKIT": "0"}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return tag


@pytest.fixture(scope="session")
def image(docker_engine, build_context):
    build_image(build_context, IMAGE)
    yield IMAGE
    # A rebuild leaves the previous build untagged: remove such leftovers of this suite's builds only.
    subprocess.run(["docker", "image", "prune", "-f", "--filter", "label=io.deeptempo.test=1"], capture_output=True)


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
