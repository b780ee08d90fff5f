"""The image, built once per test session from a copy of the project with secrets planted in it (the
canary test then proves none reached a layer), and containers published on 127.0.0.1 only."""

import os
import shutil
import subprocess
import time
import urllib.request

import pytest

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # the Ryuk image cannot be pulled offline

from conftest import PROJECT

IMAGE = "deeptempo-ai-soc:smoke-test"
BUILD_CANARY = "sk-ant-BUILDCONTEXTCANARY0123456789"
# Where a careless build context would carry secrets.
PLANTED_SECRETS = [".env", ".env.production", "entrypoint/.env", "entrypoint/spec/.env.local", "secrets/claude_api_key",
                   "deploy.secret"]
VALID = {"CLAUDE_API_KEY": "sk-ant-smoketest0123456789"}


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
    command = ["docker", "build", "--progress=plain", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", tag,
               str(context)]
    if target:
        command[-1:-1] = ["--target", target]
    if environment.get("DOCKER_BUILDKIT") == "0":
        command.remove("--progress=plain")
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="session")
def image(docker_engine, build_context):
    build_image(build_context, IMAGE)
    return IMAGE


@pytest.fixture
def start(image):
    """start(env=..., command=..., **docker_run_kwargs) -> a started testcontainers container."""
    from testcontainers.core.container import DockerContainer

    started = []

    def start_container(env=None, command=None, publish=True, fast_healthcheck=True, image_tag=None, **kwargs):
        container = DockerContainer(image_tag or image)
        for key, value in (env or {}).items():
            container.with_env(key, value)
        if command is not None:
            container.with_command(command)
        if publish:
            container.ports["6987/tcp"] = ("127.0.0.1",)  # loopback only, a random free port
        for host_path, mount in kwargs.pop("volumes", {}).items():
            container.with_volume_mapping(host_path, mount["bind"], mount["mode"])
        container.tmpfs.update(kwargs.pop("tmpfs", {}))
        if fast_healthcheck:  # keep the image's test, probe it often
            kwargs.setdefault("healthcheck", {"interval": 500_000_000, "timeout": 2_000_000_000, "retries": 3, "start_period": 0})
        container.with_kwargs(**kwargs)
        started.append(container)
        return container.start()

    yield start_container
    for container in started:
        try:
            container.stop()
        except Exception:  # noqa: BLE001 - already gone
            pass


def docker_container(container):
    wrapped = container.get_wrapped_container()
    wrapped.reload()
    return wrapped


def wait_healthy(container, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = docker_container(container).attrs["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return
        assert state["Status"] in ("created", "running"), f"container ended: {state}\n{logs(container)}"
        time.sleep(0.25)
    raise AssertionError(f"not healthy within {timeout} s:\n{logs(container)}")


def wait_exit(container, timeout):
    return docker_container(container).wait(timeout=timeout)["StatusCode"]


def logs(container):
    return docker_container(container).logs().decode(errors="replace")


def health_response(container):
    port = container.get_docker_client().port(container.get_container_id(), 6987)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as response:
        return response.status, response.read().decode()
